"""``RUNNER_REUSE_CHECKOUT=1``: a machine job's checkout kept between runs (issue 17, item 2).

A big repository's checkout is a copy of every file, every run. With this setting the machine
executor keeps each job node's checkout in the state directory when the node ends (instead of
removing it with the node's home), and the next run of the same job moves it back in and
copies only what changed, like rsync's quick check: a file is kept when neither the project's
file nor the kept copy changed since the copy was made (mode, size, mtime, ctime and inode of
both, taken with ``lstat``), everything else is copied again, and what the project no longer
has (or the job added) is removed. The result is what a fresh copy would give.

Safety: the kept tree is walked without following links; a link, or any other entry, where
the project has a folder is removed before anything is copied, so a job that left a link to
``/`` in its checkout cannot make the next copy write outside it. Links are always copied
again. A file touched within ``RACY_NS`` of the copy is not trusted next time (git's "racily
clean" problem: a change within the same timestamp tick keeps the same mtime). Anything
unexpected (unreadable kept tree, a different disk) falls back to the full copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from msgspec import Struct, field

from runner.executors import tree_copy
from runner.executors.host_procs import process_alive

ENV = "RUNNER_REUSE_CHECKOUT"
RACY_NS = 2_000_000_000
_VERSION = 2

# mode, size, mtime_ns, ctime_ns, inode (lstat): what says a file was left alone
Stat = tuple[int, int, int, int, int]
Records = dict[str, tuple[Stat, Stat]]  # name: (the project's file, the kept copy)


@runtime_checkable
class KeepsCheckouts(Protocol):
    """A session whose files are a folder of this host (the machine executor's)."""

    def host_dir(self, path: str) -> Path: ...

    def at_close(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the node ends, before its home is removed (not when kept)."""

    def stopping(self) -> bool: ...


def wanted(environ: Mapping[str, str]) -> bool:
    return environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def _stat(path: str) -> Stat | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class Manifest(Struct):
    """Per name: the project file's and the kept copy's Stat when the copy was made."""

    entries: Records = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Flat lists of 10 numbers per name (fast to read back for 50,000 files)."""
        try:
            data = json.loads(path.read_text(errors="surrogateescape"))
            if data.get("version") != _VERSION:
                return cls()
            entries = data["entries"]
            # a malformed record never equals a Stat, so its file is just copied again
            return cls({name: (tuple(v[:5]), tuple(v[5:])) for name, v in entries.items()})
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls()  # unreadable: nothing is trusted, every file is copied again

    def dump(self, path: Path) -> None:
        flat = {name: [*source, *copy] for name, (source, copy) in self.entries.items()}
        path.write_text(
            json.dumps({"version": _VERSION, "entries": flat}), errors="surrogateescape"
        )


class Update(Struct):
    """What bringing a kept tree up to date did."""

    copied: int = 0
    kept: int = 0
    manifest: Manifest = field(default_factory=Manifest)


def update(
    root: Path, names: list[str], tree: Path, old: Manifest, stopped: Callable[[], bool]
) -> Update:
    """Make ``tree`` hold exactly ``names`` of ``root``, copying only what changed."""
    started = time.time_ns()
    base = str(root) + os.sep
    sources = {n: s for n in names if (s := _stat(base + n)) is not None}
    clean = {
        name: record
        for name, record in old.entries.items()
        if stat.S_ISREG(record[0][0]) and sources.get(name) == record[0]
    }
    done = Update()
    _prune(str(tree), "", _folders(sources), clean, done.manifest.entries)
    copy = [n for n in sources if n not in done.manifest.entries]
    if copy:
        tree_copy.copy_files(root, copy, tree, stopped)
    done.copied, done.kept = len(copy), len(done.manifest.entries)
    copies = str(tree) + os.sep
    for name in copy:
        source, copied = sources[name], _stat(copies + name)
        if copied is not None and stat.S_ISREG(source[0]) and _settled(source, started):
            done.manifest.entries[name] = (source, copied)
    return done


def _settled(source: Stat, started: int) -> bool:
    # a later write sets mtime to its own tick: only a file written in the copy's own tick
    # could change again and keep the mtime recorded now (git's racy-clean check, mtime only)
    return source[2] < started - RACY_NS


def _folders(names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        folder = name.rpartition("/")[0]
        while folder and folder not in out:  # its parents are in already when it is
            out.add(folder)
            folder = folder.rpartition("/")[0]
    return out


def _prune(folder: str, rel: str, folders: set[str], clean: Records, kept: Records) -> None:
    """Remove from ``folder`` what is neither a folder the project has nor a clean file whose
    copy is as it was left (those go into ``kept``). Never follows a link: a link is an entry
    like a file, so it is removed, never written through."""
    with os.scandir(folder) as entries:
        for entry in entries:
            name = rel + entry.name
            if entry.is_dir(follow_symlinks=False):
                if name in folders:
                    _prune(entry.path, name + "/", folders, clean, kept)
                else:
                    shutil.rmtree(entry.path)
            else:
                record = clean.get(name)
                if record is not None and _stat(entry.path) == record[1]:
                    kept[name] = record
                else:
                    os.unlink(entry.path)


# ---------------------------------------------------------------- the kept tree's slot


def slot_for(checkouts: Path, root: Path, job_id: str, node_index: int) -> Path:
    """Where one job node's checkout of one project waits between runs."""
    digest = hashlib.sha256(f"{root.resolve()}\0{job_id}\0{node_index}".encode()).hexdigest()
    return checkouts / f"{digest[:20]}"


def _claim(slot: Path) -> Path | None:
    """Take the slot for this run (a rename: two runs never get the same tree)."""
    _sweep(slot)
    claimed = _aside(slot)
    try:
        os.rename(slot, claimed)
    except OSError:
        return None  # none kept yet, or another run has it
    if not (_is_folder(claimed) and _is_folder(claimed / "tree")):
        _discard(claimed)  # not what runner left there: never look inside
        return None
    return claimed


def _aside(slot: Path) -> Path:
    """A name beside ``slot`` that no other run uses (hidden: never taken for a slot)."""
    return slot.with_name(f".{slot.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}")


def _sweep(slot: Path) -> None:
    """Remove what runs that ended without finishing (killed) left beside the slot."""
    for path in slot.parent.glob(f".{slot.name}.*"):
        pid = path.name.split(".")[2]
        if pid.isdigit() and not process_alive(int(pid)):
            _discard(path)




def _is_folder(path: Path) -> bool:
    mode = _stat(str(path))
    return mode is not None and stat.S_ISDIR(mode[0])


def _discard(path: Path) -> None:
    if os.path.islink(path) or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def give_back(tree: Path, slot: Path, manifest: Manifest) -> None:
    """Keep ``tree`` (the node's checkout, at the node's end) for the next run."""
    if not _is_folder(tree):
        return  # the job moved or removed it: nothing to keep
    staging = _aside(slot)
    try:
        staging.mkdir(parents=True)
        manifest.dump(staging / "manifest.json")
        os.rename(tree, staging / "tree")
        os.rename(staging, slot)  # fails if another run kept one meanwhile: keep theirs
    except OSError:
        _discard(staging)


def reuse(
    session: KeepsCheckouts, dest: str, root: Path, names: list[str], slot: Path
) -> Update | str:
    """Bring the kept checkout up to date and move it to ``dest``; or why it cannot be used
    (then nothing was copied and the caller copies the whole tree)."""
    target = session.host_dir(dest)
    if not tree_copy.available():
        return "no GNU tar on this host"
    if target.exists() and (not _is_folder(target) or any(target.iterdir())):
        return f"{dest} is not empty"
    claimed = _claim(slot)
    tree = (claimed or _aside(slot)) / "tree"
    try:
        if claimed is None:
            _discard(tree.parent)
            tree.mkdir(parents=True)
        old = Manifest.load(claimed / "manifest.json") if claimed else Manifest()
        done = update(root, names, tree, old, session.stopping)
        if target.exists():
            target.rmdir()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(tree, target)
    except OSError as exc:
        return f"the kept checkout could not be used ({exc.strerror or exc})"
    finally:
        _discard(tree.parent)
    session.at_close(lambda: give_back(target, slot, done.manifest))
    return done
