"""zoo: a declarative benchmark suite for the volume hypothesis of generalization."""

__version__ = "0.1.0"
