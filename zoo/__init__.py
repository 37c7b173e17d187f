"""zoo: a declarative benchmark suite for the volume hypothesis of generalization."""

import os

__version__ = "0.1.0"

# OpenMP threads that finish an operation early wait for the others. By default
# they spin, which on a machine shared with other jobs burns the cores that the
# threads they wait for need: a cell of many tiny operations then ran 60-100x
# slower beside two busy processes, against about 2x when waiting threads sleep
# (docs/speed.md, "Under load"). The runtime reads this once, when torch loads
# it, so it is set here, before any zoo module imports torch; a user's own
# setting wins. Idle, sleeping costs nothing measurable here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
