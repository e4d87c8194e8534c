"""The docker executor (see :mod:`runner.executors.docker.executor`).

Importing this package is cheap: the Docker SDK is imported only when an engine is contacted.
"""

from __future__ import annotations

from runner.executors.docker.executor import DockerExecutor

__all__ = ["DockerExecutor"]
