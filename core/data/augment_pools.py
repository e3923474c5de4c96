"""What augmentation may substitute, and what it must leave alone: value pools and deny-lists.

Pools hold the new values drawn for paths, file stems, user names, `*.ext` globs, `-mtime`/`-mmin`
numbers and `-size` values; deny-lists name the files, system paths and user-like words whose
meaning is the value itself. Number words and size-unit spellings let a value be written back in
the instruction's own style ("seven days", "100 KB").
"""

from __future__ import annotations

PATH_POOL: tuple[str, ...] = (
    "/usr/local",
    "/var/log",
    "/tmp",
    "/opt",
    "/mnt/data",
    "/srv/www",
    "/home/alice/projects",
    "/var/backups",
    "/opt/app",
    "/data/archive",
    "/home/bob/docs",
    "/var/www/html",
    "/mnt/backup",
    "/srv/data",
    "/home/deploy/releases",
    "/opt/tools",
    "/var/tmp",
    "/media/usb",
    "/home/john/work",
    "/var/cache/app",
    "/srv/git",
    "/mnt/shared",
)
STEM_POOL: tuple[str, ...] = (
    "report",
    "notes",
    "data",
    "app",
    "server",
    "backup",
    "config",
    "output",
    "results",
    "access",
    "error",
    "main",
    "utils",
    "records",
    "summary",
    "inventory",
    "users",
    "metrics",
    "build",
    "deploy",
    "input",
    "archive",
    "settings",
    "sample",
    "export",
)
USER_POOL: tuple[str, ...] = (
    "alice",
    "bob",
    "john",
    "developer",
    "sysadmin",
    "deploy",
    "www-data",
    "carol",
    "dave",
    "jenkins",
    "ubuntu",
    "mary",
    "oracle",
    "tomcat",
)
# extensions whose files are interchangeable for a glob (`*.txt` -> `*.log`): same tools apply
EXT_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("txt", "log", "md"),
    ("jpg", "png", "gif"),
    ("mp3", "wav", "ogg", "flac"),
    ("mp4", "mkv", "avi"),
    ("conf", "cfg", "ini"),
    ("bak", "old", "orig"),
    ("html", "htm"),
)
EXT_FAMILY = {ext: fam for fam in EXT_FAMILIES for ext in fam}
# extensions recognised on plain file names (the stem changes, the extension stays)
FILE_EXTS: tuple[str, ...] = (
    "tar.gz",
    "tar.bz2",
    "tar.xz",
    "tgz",
    "tar",
    "zip",
    "gz",
    "bz2",
    "xz",
    "7z",
    "rar",
    "txt",
    "csv",
    "tsv",
    "log",
    "json",
    "xml",
    "yaml",
    "yml",
    "conf",
    "cfg",
    "ini",
    "toml",
    "py",
    "sh",
    "bash",
    "pl",
    "rb",
    "js",
    "ts",
    "php",
    "java",
    "c",
    "h",
    "cpp",
    "hpp",
    "go",
    "rs",
    "html",
    "htm",
    "css",
    "md",
    "rst",
    "sql",
    "db",
    "sqlite",
    "dat",
    "out",
    "bak",
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "odt",
    "jpg",
    "jpeg",
    "png",
    "gif",
    "svg",
    "mp3",
    "wav",
    "ogg",
    "flac",
    "mp4",
    "mkv",
    "avi",
    "iso",
    "img",
    "deb",
    "rpm",
    "jar",
    "pem",
    "key",
    "crt",
    "patch",
    "diff",
)
# names whose meaning is the name itself: never renamed
FILE_DENY = frozenset(
    {
        "requirements.txt",
        "setup.py",
        "package.json",
        "package-lock.json",
        "cmakelists.txt",
        "pom.xml",
        "build.xml",
        "docker-compose.yml",
        "docker-compose.yaml",
        "cargo.toml",
        "pyproject.toml",
        "setup.cfg",
        "__init__.py",
        "manage.py",
        "composer.json",
        "go.mod",
        "robots.txt",
        "index.php",
        "wp-config.php",
        "httpd.conf",
        "nginx.conf",
        "sshd_config",
        "resolv.conf",
        "a.out",
        "fstab",
        "hosts",
        "sources.list",
        "known_hosts",
        "authorized_keys",
    }
)
# system locations where another path would make the command wrong
PATH_DENY_PREFIXES: tuple[str, ...] = (
    "/dev",
    "/proc",
    "/sys",
    "/etc",
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/include",
    "/usr/share",
    "/boot",
    "/run",
    "/var/run",
    "/var/lib",
    "/var/spool",
    "/var/mail",
    "/var/lock",
    "/usr/src",
)
# common words that are also user names: only swapped when the instruction marks them as a user
AMBIGUOUS_USERS = frozenset(
    {
        "root",
        "user",
        "admin",
        "test",
        "guest",
        "nobody",
        "www",
        "data",
        "name",
        "username",
        "me",
        "you",
        "apache",
        "mysql",
        "postgres",
        "daemon",
        "bin",
        "sys",
        "games",
        "mail",
        "news",
        "backup",
        "list",
        "proxy",
        "operator",
        "ftp",
        "git",
        "users",
        "staff",
        "all",
        "other",
    }
)
NON_USERS = frozenset({"-", "r", "R", "h", "c", "v", "f"})

DAY_POOL = (1, 2, 3, 5, 7, 10, 14, 15, 20, 21, 30, 45, 60, 90, 180, 365)
MIN_POOL = (1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 360, 720)
SIZE_POOL: dict[str, tuple[int, ...]] = {
    "k": (4, 10, 20, 50, 100, 200, 500),
    "M": (1, 5, 10, 20, 50, 100, 500),
    "G": (1, 2, 5, 10),
    "c": (100, 512, 1024, 4096, 10000),
}
NUM_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
    14: "fourteen",
    15: "fifteen",
    20: "twenty",
    30: "thirty",
    45: "forty-five",
    60: "sixty",
    90: "ninety",
}
WORD_NUMS = {w: n for n, w in NUM_WORDS.items()}

# size unit styles: instruction spelling -> (style, family); style -> spelling per family
SIZE_STYLES: dict[str, dict[str, str]] = {
    "letter": {"k": "k", "M": "M", "G": "G"},
    "LETTER": {"k": "K", "M": "M", "G": "G"},
    "XB": {"k": "KB", "M": "MB", "G": "GB"},
    "kB": {"k": "kB", "M": "MB", "G": "GB"},
    "xb": {"k": "kb", "M": "mb", "G": "gb"},
    "Xb": {"k": "Kb", "M": "Mb", "G": "Gb"},
    "iB": {"k": "KiB", "M": "MiB", "G": "GiB"},
    "word": {"k": "kilobyte", "M": "megabyte", "G": "gigabyte"},
    "Word": {"k": "Kilobyte", "M": "Megabyte", "G": "Gigabyte"},
    "bytes": {"c": "byte"},
}


def _size_units() -> dict[str, tuple[str, str]]:
    """Every spelling of a size unit in an instruction -> (style, family)."""
    units: dict[str, tuple[str, str]] = {}
    for style, forms in SIZE_STYLES.items():
        for fam, form in forms.items():
            if style in ("word", "Word", "bytes"):
                units.setdefault(form + "s", (style, fam))
            units.setdefault(form, (style, fam))
    for extra, val in (
        ("megs", ("word", "M")),
        ("meg", ("word", "M")),
        ("gigs", ("word", "G")),
        ("gig", ("word", "G")),
        ("Bytes", ("bytes", "c")),
    ):
        units.setdefault(extra, val)
    return units


SIZE_UNIT = _size_units()  # spelling -> (style, family)
