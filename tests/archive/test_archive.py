"""Archives are hostile (reliability.md §6): every refusal, with its message, on both
extraction engines (GNU tar checked by Python, and Python alone), and all or nothing."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.archive import ArchiveError, Limits, LinkPolicy, safe_extract, tar_stream
from runner.archive.checks import MemberChecker
from runner.archive.extract import STAGING_PREFIX, _verify_tree, gnu_tar
from tests.archive.archives import M, gz, tar_bytes, zst

ENGINES = [
    pytest.param("tar", id="gnu-tar", marks=pytest.mark.skipif(not gnu_tar(), reason="no GNU tar")),
    pytest.param("python", id="python"),
]
GOOD = (M("ok/"  , kind="dir"), M("ok/one.txt", b"1"), M("ok/two.txt", b"2"))  # fmt: skip


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = path.read_text(errors="replace")
    return out


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    folder = tmp_path / "dest"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    (tmp_path / "outside").mkdir()
    return folder


HOSTILE = {
    "dotdot": ((M("../evil", b"x"),), "'..' in its path"),
    "dotdot-deep": ((M("a/../../evil", b"x"),), "'..' in its path"),
    "absolute": ((M("/tmp/evil", b"x"),), "absolute path"),
    "escaping-symlink-then-write-through": (
        (M("link", kind="sym", target="OUTSIDE"), M("link/pwned", b"x")),
        "written through the link 'link'",
    ),
    "relative-symlink-then-write-through": (
        (M("up", kind="sym", target="../outside"), M("up/pwned", b"x")),
        "written through the link 'up'",
    ),
    "symlink-dir-then-write-through": (
        (M("d/", kind="dir"), M("d/l", kind="sym", target="/"), M("d/l/etc/x", b"x")),
        "written through the link 'd/l'",
    ),
    "hardlink-absolute": ((M("h", kind="lnk", target="/etc/passwd"),), "absolute path"),
    "hardlink-dotdot": ((M("h", kind="lnk", target="../outside/f"),), "'..' in its path"),
    "hardlink-to-nothing-in-archive": (
        (M("h", kind="lnk", target="keep.txt"),),
        "not an earlier file of this archive",
    ),
    "char-device": ((M("dev", kind="chr"),), "device file"),
    "block-device": ((M("dev", kind="blk"),), "device file"),
    "fifo": ((M("pipe", kind="fifo"),), "FIFO"),
    "symlink-with-data": ((M("l", kind="sym", target="x", size=600),), "carrying data"),
    "twice": ((M("f", b"1"), M("f", b"2")), "appears twice"),
    "file-then-below-it": ((M("f", b"1"), M("f/x", b"2")), "'f' is a file"),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_refusal_has_a_message_and_leaves_nothing(
    case: str, engine: str, dest: Path, tmp_path: Path
) -> None:
    members, message = HOSTILE[case]
    members = tuple(
        M(m.name, m.data, m.kind, m.target.replace("OUTSIDE", str(tmp_path / "outside")), m.size)
        for m in members
    )
    before = snapshot(tmp_path)
    with pytest.raises(ArchiveError, match=message.replace("(", r"\(")):
        safe_extract(io.BytesIO(tar_bytes(*GOOD, *members)), dest, engine=engine)
    assert snapshot(tmp_path) == before  # nothing of GOOD either, nothing outside, no staging


@pytest.mark.parametrize("engine", ENGINES)
def test_budgets(engine: str, dest: Path) -> None:
    big = tar_bytes(M("a", b"x" * 3000), M("b", b"y" * 3000))
    with pytest.raises(ArchiveError, match=r"more than 4\.9 KiB of content"):
        safe_extract(io.BytesIO(big), dest, Limits(max_bytes=5000), engine=engine)
    many = tar_bytes(*(M(f"f{i}", b"x") for i in range(5)))
    with pytest.raises(ArchiveError, match="more than 3 members"):
        safe_extract(io.BytesIO(many), dest, Limits(max_members=3), engine=engine)
    assert snapshot(dest) == {"keep.txt": "mine"}


@pytest.mark.parametrize("engine", ENGINES)
def test_truncated_and_corrupt_archives(engine: str, dest: Path) -> None:
    whole = tar_bytes(*GOOD, M("last.txt", b"z" * 2000))
    with tarfile.open(fileobj=io.BytesIO(whole)) as archive:
        last = archive.getmembers()[-1]
    cut_in_data = whole[: last.offset_data + 700]
    boundary = last.offset  # right after the GOOD members: no end-of-archive marker
    damaged = bytearray(whole)
    damaged[last.offset + 10] ^= 0xFF  # the last header's checksum no longer matches
    cases = {
        "cut in the data": (cut_in_data, "truncated or corrupt"),
        "cut at a member boundary": (whole[:boundary], "no end-of-archive marker"),
        "damaged header": (bytes(damaged), "truncated or corrupt"),
        "empty": (b"", "truncated or corrupt"),
        "gzip cut short": (gz(whole)[:-20], "truncated"),
        "gzip damaged": (gz(whole)[:40] + b"\xff" * 30 + gz(whole)[70:], "corrupt"),
        # zstd's own messages: the stream is recognised, not taken for a broken tar
        "zstd cut short": (zst(whole)[:-20], "compressed stream ends early"),
        "zstd cut in its header": (zst(whole)[:6], "compressed stream ends early"),
        "zstd damaged": (zst(whole)[:40] + b"\xff" * 30 + zst(whole)[70:], "corrupt compressed"),
    }
    for label, (data, message) in cases.items():
        with pytest.raises(ArchiveError, match=message):
            safe_extract(io.BytesIO(data), dest, engine=engine)
        assert snapshot(dest) == {"keep.txt": "mine"}, label


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("compress", [zst, gz, bytes], ids=["zstd", "gzip", "plain"])
def test_zstd_gzip_and_plain_tar_streams_are_told_apart_by_their_magic(
    engine: str, compress: Callable[[bytes], bytes], dest: Path
) -> None:
    """zstd is what runner writes (issue 17), gzip what it wrote before: both restore."""
    data = compress(tar_bytes(*GOOD))
    chunks = [data[i : i + 3] for i in range(0, len(data), 3)]  # magic split across chunks
    safe_extract(chunks, dest, engine=engine)
    assert snapshot(dest) == {"keep.txt": "mine", "ok": "dir", "ok/one.txt": "1", "ok/two.txt": "2"}


@pytest.mark.parametrize("engine", ENGINES)
def test_contained_policy_refuses_links_that_leave(engine: str, dest: Path) -> None:
    for target in ("/etc/passwd", "../x", "a/../../x"):
        with pytest.raises(ArchiveError, match="leaves the archive"):
            safe_extract(
                io.BytesIO(tar_bytes(M("l", kind="sym", target=target))),
                dest,
                links=LinkPolicy.CONTAINED,
                engine=engine,
            )
    safe_extract(
        io.BytesIO(tar_bytes(M("d/f", b"x"), M("l", kind="sym", target="d/f"))),
        dest,
        links=LinkPolicy.CONTAINED,
        engine=engine,
    )
    assert (dest / "l").read_text() == "x"


@pytest.mark.parametrize("engine", ENGINES)
def test_caches_keep_absolute_links_and_never_follow_them(
    engine: str, dest: Path, tmp_path: Path
) -> None:
    """A virtualenv's ``bin/python -> /usr/bin/python3`` is restored as it was."""
    venv = tar_bytes(
        M("venv/bin/python", kind="sym", target="/usr/bin/python3"),
        M("venv/lib64", kind="sym", target="lib"),
        M("venv/lib/site.py", b"pass"),
    )
    safe_extract(io.BytesIO(venv), dest, engine=engine)
    assert os.readlink(dest / "venv" / "bin" / "python") == "/usr/bin/python3"
    assert (dest / "venv" / "lib64" / "site.py").read_text() == "pass"
    # an existing link in the destination is replaced, never written through
    (dest / "d").symlink_to(tmp_path / "outside")
    safe_extract(io.BytesIO(tar_bytes(M("d/", kind="dir"), M("d/f", b"x"))), dest, engine=engine)
    assert not (dest / "d").is_symlink() and (dest / "d" / "f").read_text() == "x"
    assert list((tmp_path / "outside").iterdir()) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_merges_into_an_existing_tree(engine: str, dest: Path) -> None:
    (dest / "ok").mkdir()
    (dest / "ok" / "old.txt").write_text("old")
    (dest / "ok" / "one.txt").write_text("before")
    safe_extract(io.BytesIO(tar_bytes(*GOOD)), dest, engine=engine)
    assert snapshot(dest) == {
        "keep.txt": "mine", "ok": "dir", "ok/old.txt": "old", "ok/one.txt": "1", "ok/two.txt": "2"
    }  # fmt: skip
    (dest / "x").mkdir()
    with pytest.raises(ArchiveError, match="a directory is in the way"):
        safe_extract(io.BytesIO(tar_bytes(M("new.txt", b"n"), M("x", b"file"))), dest)
    assert not (dest / "new.txt").exists()  # the conflict is found before anything moves


def make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "sub" / "data.bin").write_bytes(bytes(range(256)) * 40)
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "ünïcode name.txt").write_text("u")
    (root / "sub" / "deeper" / ("long-" * 30 + ".txt")).write_text("long")
    (root / "link").symlink_to("sub/data.bin")
    (root / "abs").symlink_to("/usr/bin/env")
    os.link(root / "sub" / "data.bin", root / "hard.bin")


@pytest.mark.parametrize("reader", ENGINES)
@pytest.mark.parametrize("writer", ENGINES)
def test_a_tree_round_trips(writer: str, reader: str, tmp_path: Path) -> None:
    make_tree(tmp_path / "tree")
    out = tmp_path / "out"
    safe_extract(tar_stream(tmp_path / "tree", engine=writer), out, engine=reader)
    assert snapshot(out / "tree") == snapshot(tmp_path / "tree")
    assert stat.S_IMODE((out / "tree" / "run.sh").stat().st_mode) == 0o755
    assert (out / "tree" / "hard.bin").stat().st_ino == (out / "tree" / "sub" / "data.bin").stat().st_ino
    assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_tar_stream_of_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no such file or directory"):
        tar_stream(tmp_path / "nope")


def test_the_tree_tar_made_must_be_what_was_checked(tmp_path: Path) -> None:
    """The GNU tar engine compares what tar created with what Python checked: a parser
    differential (a header the two read differently) cannot slip an extra file through."""
    checker = MemberChecker()
    checker.check(tarfile.TarInfo("a"))
    (tmp_path / "a").write_text("")
    (tmp_path / "sneaked").write_text("")
    with pytest.raises(ArchiveError, match="'sneaked': tar created a file the checks did not see"):
        _verify_tree(tmp_path, checker)
