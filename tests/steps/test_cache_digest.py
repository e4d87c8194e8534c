"""A stored cache's digest is verified in the same pass as it is restored (issue 17): a file
changed since it was written is refused whole on both executors, even where the change leaves
the compressed stream and the tar inside it intact (bytes after the zstd frame)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.steps.test_caches import entries, entry_of
from tests.targets import Target


def test_a_cache_changed_after_its_frame_is_refused_whole(target: Target, tmp_path: Path) -> None:
    state = Path(os.environ["RUNNER_STATE_DIR"])
    config = """
        version: 2.1
        jobs:
          save:
            EXECUTOR
            steps:
              - run: mkdir -p deps && echo ok > deps/ok
              - save_cache: {key: appended, paths: [deps]}
          restore:
            EXECUTOR
            steps:
              - restore_cache: {key: appended}
              - run: {command: 'ls deps 2>/dev/null || echo "nothing restored"', when: always}
    """
    project = target.project(tmp_path / "p", config)
    first = target.run(project, jobs=("save",))
    assert first.result is not None and first.result.exit_code == 0, first.output()
    folder = entry_of(state, "appended")
    archive = folder / json.loads((folder / "manifest.json").read_text())["paths"][0]["file"]
    with archive.open("ab") as handle:  # the frame and the tar in it still read as whole
        handle.write(b"\0" * 1000)
    second = target.run(project, jobs=("restore",))
    outcome = second.step("Restoring Cache", job="restore").outcome
    assert outcome.status.value == "failed" and "is damaged" in outcome.message
    assert second.output("restore")[-1] == "nothing restored"
    assert entries(state) == []
