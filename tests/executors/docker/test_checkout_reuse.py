"""RUNNER_REUSE_CHECKOUT on the docker executor: not supported, said so, and a full copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.executors import kept_checkout
from tests.executors.docker.helpers import DEBIAN, docker_executor, docker_project, run_with

pytestmark = pytest.mark.docker


def test_docker_checkout_with_reuse_asked_for_says_so_and_copies_everything(
    tmp_path: Path, no_leftovers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(kept_checkout.ENV, "1")
    project = docker_project(tmp_path / "p", """
        steps:
          - checkout
          - run: cat a.txt
    """, image=DEBIAN, **{"a.txt": "all of it"})  # fmt: skip
    result = run_with(project, {"docker": docker_executor()})
    notices = [getattr(e, "text", "") for e in result.events if type(e).__name__ == "Notice"]
    assert [n for n in notices if kept_checkout.ENV in n] == [
        f"{kept_checkout.ENV}: only the machine executor keeps checkouts; "
        "this job's executor gets a full copy"
    ]
    assert result.output()[-1] == "all of it"
    assert result.output()[0].startswith("Copied 2 files of the working tree and its .git")
