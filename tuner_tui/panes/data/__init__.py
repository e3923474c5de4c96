"""Data pane: a preset's (or a file's) dataset — rows, stats and token lengths, rejects, augmentation."""

from tuner_tui.panes.data.dataset import Dataset, random_rows, read_dataset
from tuner_tui.panes.data.pane import DataPane

__all__ = ["DataPane", "Dataset", "random_rows", "read_dataset"]
