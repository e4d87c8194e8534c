"""runner: run CircleCI jobs and workflows locally."""

__version__ = "0.1.0"
