"""tuner-tui: the Textual client of tuner.

It is a client of the run directory contract (docs/run-directory.md): training runs are
separate detached processes (`tuner run`), and everything the TUI shows about a run is read
from its directory. Importing this package must stay light: no torch, transformers or
datasets are imported until a pane needs a model (and then only inside a worker thread).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
