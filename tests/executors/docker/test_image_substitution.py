"""``--image FROM=TO`` on real containers (issue 18, item 1): primary and service images."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.executors.docker.helpers import BUSYBOX, DEBIAN, docker_project
from tests.support import run_cli

pytestmark = pytest.mark.docker


def test_primary_and_service_run_the_substituted_images(tmp_path: Path, no_leftovers: str) -> None:
    project = docker_project(tmp_path / "p", """
        steps:
          - run: |
              head -1 /etc/os-release
              for i in $(seq 100); do
                (exec 3<>/dev/tcp/cache/7000 && cat <&3) 2>/dev/null && break
                sleep 0.1
              done
    """, images="""
        - image: cimg/python:3.12
        - image: redis:7
          name: cache
          command: [sh, -c, "while true; do busybox | head -1 | cut -c1-7 | nc -l -p 7000; done"]
    """)
    result = run_cli(
        ["run", "--pull", "never", "--image", f"cimg/python:*={DEBIAN}",
         "--image", f"redis:7={BUSYBOX}"],
        project,
    )
    assert result.code == 0, result.stdout + result.stderr
    header = next(line for line in result.stdout.splitlines() if line.startswith("▶ build"))
    assert f"{DEBIAN} (for cimg/python:3.12)" in header
    assert f"{BUSYBOX} (for redis:7)" in header
    assert 'build │ PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"' in result.stdout
    assert "build │ BusyBox" in result.stdout  # the service answered, from busybox
