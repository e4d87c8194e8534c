"""``checkout``: the project's files, with ``.git``, copied into the node.

CircleCI clones the pushed commit; locally the point is to test what is on disk, so runner
copies the working tree as git sees it: tracked files and untracked files that are not
ignored, plus ``.git`` so git commands work in the job. The user's tree is never mounted, so a
job cannot change it. Submodules are not checked out, as on CircleCI [CR].
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runner.config.model import CheckoutStep, Step
from runner.events import Status, StepOutcome
from runner.executors import kept_checkout
from runner.steps.context import StepContext


def project_files(root: Path) -> tuple[list[str], str | None]:
    """Relative names to copy, and a note for the user when the project is not a git repo."""
    try:
        # -t tags each name: "R" is a tracked file deleted from the tree, "?" an untracked one.
        # git checks what is deleted in C (issue 17: one lstat per name from Python was a
        # third of a 50,000-file checkout's time beyond its floor).
        listed = _git(root, "-t", "--cached", "--others", "--deleted", "--exclude-standard")
        gitlinks = _gitlinks(root)
    except (OSError, subprocess.CalledProcessError):
        return _all_files(root), "not a git repository: copied every file of the project"
    deleted = {entry[2:] for entry in listed if entry.startswith("R ")}
    # Submodules are not copied: their folders are other repositories [CR]
    skip = deleted | gitlinks
    present = [n for n in dict.fromkeys(entry[2:] for entry in listed) if n and n not in skip]
    git = root / ".git"
    if git.is_dir():
        present += _all_files(root, under=".git")
        return present, None
    if not git.exists():
        return present, "the project is inside a larger git repository: copied files without .git"
    return present, "the project's .git is not a directory (a worktree?): copied files without it"


def _git(root: Path, *args: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", *args], cwd=root, capture_output=True,
                         check=True).stdout  # fmt: skip
    return [entry for entry in out.decode(errors="surrogateescape").split("\0") if entry]


def _gitlinks(root: Path) -> set[str]:
    """The index's submodules (mode 160000): ``--stage`` lines are "MODE SHA STAGE\tNAME"."""
    return {
        entry.partition("\t")[2] for entry in _git(root, "--stage") if entry.startswith("160000 ")
    }


def _all_files(root: Path, under: str = "") -> list[str]:
    out: list[str] = []
    base = root / under if under else root
    for folder, dirs, files in os.walk(base):
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel + "/"
        if not under:
            dirs[:] = [d for d in dirs if d != ".git"]
        out.extend(prefix + name for name in files)
        out.extend(prefix + d for d in dirs if os.path.islink(os.path.join(folder, d)))
    return out


def checkout(step: Step, ctx: StepContext) -> StepOutcome:
    assert isinstance(step, CheckoutStep)
    dest = ctx.session.resolve(step.path, base=ctx.workdir)
    names, note = project_files(ctx.project_root)
    if note:
        ctx.notice(note)
    # The count a person checks against their tree: its files, not the .git files copied along.
    tree = sum(1 for n in names if n != ".git" and not n.startswith(".git/"))
    git = " and its .git" if tree != len(names) else ""
    files = f"{tree} file{'s' * (tree != 1)} of the working tree{git}"
    if kept_checkout.wanted(os.environ):
        done = _reuse(ctx, dest, names)
        if done is not None:
            ctx.sink.write(
                f"Brought the kept checkout of {files} up to date in {dest}: copied "
                f"{done.copied} of {done.copied + done.kept} files\n".encode()
            )
            return StepOutcome(status=Status.PASSED)
    ctx.session.put_files(dest, ctx.project_root, names)
    ctx.sink.write(f"Copied {files} into {dest}\n".encode())
    return StepOutcome(status=Status.PASSED)


def _reuse(ctx: StepContext, dest: str, names: list[str]) -> kept_checkout.Update | None:
    """The kept checkout brought up to date, or None (told why) for a full copy."""
    session = ctx.session
    if not isinstance(session, kept_checkout.KeepsCheckouts):
        ctx.notice(f"{kept_checkout.ENV}: only the machine executor keeps checkouts; "
                   "this job's executor gets a full copy")  # fmt: skip
        return None
    slot = kept_checkout.slot_for(ctx.services.state.root / "checkouts", ctx.project_root,
                                  ctx.spec.job_id, ctx.spec.node_index)  # fmt: skip
    done = kept_checkout.reuse(session, dest, ctx.project_root, names, slot)
    if isinstance(done, str):
        ctx.notice(f"{kept_checkout.ENV}: {done}: copying the whole tree")
        return None
    return done
