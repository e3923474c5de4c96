"""The five panes: Data, Presets, Monitor, Playground, Runs.

A pane talks to the rest of the TUI only through messages (tuner_tui.messages): it posts
requests that bubble to the app, and receives the app's commands in its own message queue,
which Textual holds until the pane is mounted (panes not on screen at start mount lazily).
A pane imports neither the app nor another pane (.importlinter checks it).
"""
