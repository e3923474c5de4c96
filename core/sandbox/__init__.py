"""Running untrusted shell commands in a throwaway bubblewrap sandbox (for execution-checked evaluation)."""
