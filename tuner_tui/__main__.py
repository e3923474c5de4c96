"""`python -m tuner_tui`: the same as the `tuner-tui` console script."""

import sys

from tuner_tui.app import main

sys.exit(main())
