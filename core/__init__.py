"""tuner's headless engine: config, data, models, training, events, runs, generation.

Nothing in this package imports textual; heavy libraries (torch, transformers, datasets)
are imported inside the functions that need them so that clients start fast.
"""

__version__ = "0.1.0"
