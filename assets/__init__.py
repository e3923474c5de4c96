"""Files that ship with tuner: the bundled dataset and styles."""
