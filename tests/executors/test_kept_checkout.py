"""RUNNER_REUSE_CHECKOUT (issue 17): a kept checkout brought up to date is what a fresh copy
would be, copies only what changed, and a job that tampered with it cannot make runner write
outside it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from runner.events import Status
from runner.executors import kept_checkout, tree_copy
from tests.support import Collected, git, make_project, run_in_process

pytestmark = pytest.mark.skipif(not tree_copy.available(), reason="no GNU tar")

# Prints the checkout as a fresh copy would show it: every entry, each file's text, each link.
SHOW = """
    version: 2
    jobs:
      build:
        machine: true
        steps:
          - checkout
          - run: |
              find . -path ./.git -prune -o -print | LC_ALL=C sort | while read -r f; do
                if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"
                elif [ -f "$f" ]; then echo "$f: $(cat "$f")"
                else echo "$f/"; fi
              done
              git status --porcelain | sed 's/^/status /'
              if [ -f tamper.sh ]; then sh tamper.sh; fi
    """

UNCHANGED = {f"same/{i}.txt": f"same {i}" for i in range(30)}


def backdate(root: Path) -> None:
    """Files older than the racy window, as a real project's are (see kept_checkout.RACY_NS)."""
    old = 1_600_000_000
    for folder, _dirs, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(folder, name), (old, old), follow_symlinks=False)


def state(project: Path) -> Path:
    return project.parent / "state"


def shown(collected: Collected) -> list[str]:
    """The job's view of its checkout (checkout's own line, which differs, left out)."""
    return [line for line in collected.output() if not line.startswith(("Copied", "Brought"))]


def run(project: Path) -> tuple[list[str], str]:
    collected = run_in_process(project, state_dir=state(project))
    steps = collected.steps()
    assert [s.outcome.status for s in steps] == [Status.PASSED, Status.PASSED]
    notices = [getattr(e, "text", "") for e in collected.events if type(e).__name__ == "Notice"]
    assert not [n for n in notices if kept_checkout.ENV in n]  # the kept checkout was used
    assert steps[0].log_path is not None
    return shown(collected), Path(steps[0].log_path).read_text()


def fresh(project: Path) -> list[str]:
    """What a run without the setting shows: a full copy."""
    os.environ.pop(kept_checkout.ENV, None)
    try:
        return shown(run_in_process(project, state_dir=state(project)))
    finally:
        os.environ[kept_checkout.ENV] = "1"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "p", SHOW, files={
        "a.txt": "first", "dir/b.txt": "b", "gone.txt": "gone", "becomes-link.txt": "file",
        ".gitignore": "ignored/\n", **UNCHANGED})  # fmt: skip
    backdate(root)
    monkeypatch.setenv(kept_checkout.ENV, "1")
    return root


def copied(log: str) -> tuple[int, int]:
    found = re.search(r"copied (\d+) of (\d+) files", log)
    assert found, log
    return int(found[1]), int(found[2])


def test_a_changed_new_deleted_and_relinked_file_are_right_after_reuse(project: Path) -> None:
    # the first run's job changes its checkout: a file rewritten with its old mtime put back,
    # a file of its own, an ignored folder; none of it may survive into the next run
    (project / "tamper.sh").write_text(
        "echo job >> same/0.txt && touch -d @1600000000 same/0.txt\n"
        "echo junk > junk.txt && mkdir -p ignored && echo x > ignored/y\n"
    )
    backdate(project)
    first, log = run(project)
    assert copied(log)[0] == copied(log)[1]  # nothing kept yet: everything copied
    assert "./a.txt: first" in first
    (project / "tamper.sh").unlink()
    (project / "a.txt").write_text("second, longer")
    (project / "new.txt").write_text("new")
    (project / "gone.txt").unlink()
    (project / "becomes-link.txt").unlink()
    (project / "becomes-link.txt").symlink_to("a.txt")
    second, log = run(project)
    assert second == fresh(project)
    assert "./a.txt: second, longer" in second and "./new.txt: new" in second
    assert "./becomes-link.txt -> a.txt" in second and "./same/0.txt: same 0" in second
    assert not [line for line in second if re.match(r"\./(gone|junk|ignored|tamper)", line)]
    assert "status  D gone.txt" in second and "status ?? new.txt" in second
    changed, total = copied(log)
    # the 29 untouched files of same/ and the other old files were not copied again
    assert changed < total - 29, log


def test_an_unchanged_project_copies_only_what_git_rewrote(project: Path) -> None:
    run(project)
    again, log = run(project)
    assert again == fresh(project)
    changed, total = copied(log)
    tree = [n for n in UNCHANGED if n in "".join(again)]
    assert len(tree) == len(UNCHANGED) and changed < total - len(UNCHANGED)


def test_a_tampered_kept_checkout_cannot_make_the_copy_write_outside(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "same").mkdir(parents=True)
    (outside / "dir").mkdir()
    # the job swaps its folders for links to a folder outside, and a file for a link too
    (project / "tamper.sh").write_text(
        f"rm -rf dir same && ln -s {outside}/dir dir && ln -s {outside}/same same\n"
        f"rm a.txt && ln -s {outside}/a.txt a.txt\n"
    )
    backdate(project)
    run(project)
    (project / "tamper.sh").unlink()
    (project / "dir" / "b.txt").write_text("b, changed")
    (project / "a.txt").write_text("changed")
    second, _log = run(project)
    assert sorted(p.name for p in outside.rglob("*")) == ["dir", "same"]  # nothing written there
    assert "./dir/b.txt: b, changed" in second and "./a.txt: changed" in second
    assert "./same/1.txt: same 1" in second
    assert second == fresh(project)


def test_the_kept_checkout_is_used_once_at_a_time_and_dropped_when_unreadable(
    project: Path, tmp_path: Path
) -> None:
    run(project)
    slots = [p for p in (state(project) / "checkouts").iterdir() if not p.name.startswith(".")]
    assert len(slots) == 1 and (slots[0] / "tree" / "a.txt").read_text() == "first"
    # a slot whose tree is a link (not what runner leaves) is thrown away, never followed
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "a.txt").write_text("victim's")
    os.rename(slots[0] / "tree", tmp_path / "moved")
    (slots[0] / "tree").symlink_to(victim)
    again, _log = run(project)
    assert again == fresh(project) and (victim / "a.txt").read_text() == "victim's"
    assert os.listdir(victim) == ["a.txt"]


def test_without_the_setting_nothing_is_kept(project: Path) -> None:
    fresh(project)
    assert not (state(project) / "checkouts").exists()


def test_a_checkout_into_a_folder_with_files_copies_everything(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SHOW.replace(
        "          - checkout\n", "          - run: touch here\n          - checkout\n"
    )
    (project / ".circleci" / "config.yml").write_text(
        "\n".join(line[4:] for line in config.splitlines())
    )
    git(project, "commit", "-qam", "a step before checkout")
    collected = run_in_process(project, state_dir=state(project))
    notices = [getattr(e, "text", "") for e in collected.events if type(e).__name__ == "Notice"]
    assert any("is not empty: copying the whole tree" in n for n in notices), notices


def test_what_a_killed_run_left_beside_the_slot_is_removed(project: Path) -> None:
    run(project)
    checkouts = state(project) / "checkouts"
    (slot,) = [p for p in checkouts.iterdir() if not p.name.startswith(".")]
    gone = checkouts / f".{slot.name}.{_ended_pid()}.abc"
    live = checkouts / f".{slot.name}.{os.getpid()}.def"
    for left in (gone, live):
        (left / "tree").mkdir(parents=True)
    run(project)
    assert not gone.exists() and live.exists()


def _ended_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
