"""checkout's copy with GNU tar (issue 17): the same result as the Python copies it replaces."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import threading
from pathlib import Path

import pytest

from runner.errors import Interrupted
from runner.executors import tree_copy
from runner.executors.docker.archives import project_tar
from runner.steps.checkout import project_files
from tests.support import git

pytestmark = pytest.mark.skipif(not tree_copy.available(), reason="no GNU tar")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "run.sh").write_text("#!/bin/sh\n")
    (root / "bin" / "run.sh").chmod(0o750)
    (root / "a b" / "ü").mkdir(parents=True)
    (root / "a b" / "ü" / "-n.txt").write_text("odd name")
    (root / "abs").symlink_to("/etc/hostname")
    (root / "rel").symlink_to("bin/run.sh")
    (root / "dangling").symlink_to("nowhere")
    return root


NAMES = ["bin/run.sh", "a b/ü/-n.txt", "abs", "rel", "dangling", "gone-since-listed"]


def test_machine_copy_keeps_modes_and_links_and_skips_vanished_files(
    tree: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "home" / "project"
    dest.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("mine")
    (dest / "bin").mkdir()
    (dest / "bin" / "run.sh").symlink_to(outside)  # a link left in the way is replaced
    tree_copy.copy_files(tree, NAMES, dest, lambda: False)
    assert stat.S_IMODE((dest / "bin" / "run.sh").stat().st_mode) == 0o750
    assert not (dest / "bin" / "run.sh").is_symlink() and outside.read_text() == "mine"
    assert (dest / "a b" / "ü" / "-n.txt").read_text() == "odd name"
    assert [os.readlink(dest / n) for n in ("abs", "rel", "dangling")] == [
        "/etc/hostname", "bin/run.sh", "nowhere"]  # fmt: skip
    assert not (dest / "gone-since-listed").exists()


def test_machine_copy_stops_when_interrupted(tree: Path, tmp_path: Path) -> None:
    big = [f"f{i}" for i in range(3000)]
    for name in big:
        (tree / name).write_bytes(b"x" * 4096)
    asked = threading.Event()

    def stopped() -> bool:
        asked.set()
        return True

    with pytest.raises(Interrupted, match="interrupted during the copy"):
        tree_copy.copy_files(tree, big, tmp_path / "dest", stopped)
    assert asked.is_set()


def test_docker_stream_owns_every_member_and_lists_every_folder(tree: Path) -> None:
    names = tree_copy.with_folders(["a b/ü/-n.txt", "bin/run.sh", "rel"])
    assert names == [".", "a b", "a b/ü", "bin", "a b/ü/-n.txt", "bin/run.sh", "rel"]
    data = b"".join(tree_copy.tar_chunks(tree, names, 1000, 1001))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
    assert [m.name for m in members] == [".", *names[1:]]
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(1000, 1001, "", "")}
    kinds = {m.name: m.type for m in members}
    assert kinds["a b/ü"] == tarfile.DIRTYPE and kinds["rel"] == tarfile.SYMTYPE
    assert next(m for m in members if m.name == "bin/run.sh").mode == 0o750


def test_docker_stream_holds_what_the_python_stream_held(tree: Path) -> None:
    """The tar made by GNU tar and the one runner made itself (still used without GNU tar)
    carry the same members, kinds, modes and contents."""
    names = [n for n in NAMES if n != "gone-since-listed"]

    def shape(data: bytes, strip: str) -> dict[str, tuple[bytes, int, str, bytes]]:
        out = {}
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for m in archive.getmembers():
                handle = archive.extractfile(m) if m.isreg() else None
                name = "." if m.name == strip.rstrip("/") else m.name.removeprefix(strip)
                out[name] = (m.type, m.mode, m.linkname, handle.read() if handle else b"")
        return out

    ours = b"".join(tree_copy.tar_chunks(tree, tree_copy.with_folders(names), 5, 6))
    python = b"".join(project_tar(tree, names, "/p", 5, 6))
    assert shape(ours, "") == shape(python, "p/")


def test_project_files_skips_deleted_files_and_submodules(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "sub").mkdir(parents=True)
    (root / "kept.txt").write_text("k")
    (root / "deleted.txt").write_text("d")
    (root / "sub" / "x").write_text("x")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    # a submodule (a gitlink) whose folder is there, with files of its own repository
    (root / "module").mkdir()
    (root / "module" / "inner.txt").write_text("not ours")
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},module")
    (root / "deleted.txt").unlink()
    (root / "untracked.txt").write_text("u")
    (root / "ignored.log").write_text("i")
    (root / ".gitignore").write_text("*.log\n")
    names, note = project_files(root)
    assert note is None
    work = [n for n in names if not n.startswith(".git/")]
    assert sorted(work) == [".gitignore", "kept.txt", "sub/x", "untracked.txt"]
    assert ".git/HEAD" in names


def test_the_copy_without_gnu_tar_gives_the_same_tree(tree: Path, tmp_path: Path) -> None:
    names = NAMES[:-1]  # the Python copy is given files that are there

    def shape(root: Path) -> list[tuple[str, int, str]]:
        return sorted(
            (str(p.relative_to(root)), p.lstat().st_mode,
             os.readlink(p) if p.is_symlink() else p.read_text() if p.is_file() else "")
            for p in root.rglob("*")
        )  # fmt: skip

    tree_copy.copy_files(tree, names, tmp_path / "tar", lambda: False)
    tree_copy.copy_files_here(tree, names, tmp_path / "python", lambda: False)
    assert shape(tmp_path / "python") == shape(tmp_path / "tar")
    assert len(shape(tmp_path / "tar")) == 8
