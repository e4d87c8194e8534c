"""Runner's own extraction (issue 17: the default since it beat ``tar -x``) makes what GNU tar
makes of the same archive: modes, times, folders the archive leaves out, links."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.archive import ArchiveError, safe_extract
from runner.archive.extract import gnu_tar

ENGINES = [
    pytest.param("tar", id="gnu-tar", marks=pytest.mark.skipif(not gnu_tar(), reason="no GNU tar")),
    pytest.param("python", id="python"),
]


def member(name: str, kind: bytes = tarfile.REGTYPE, *, mode: int = 0o644, mtime: float = 1e9,
           data: bytes = b"", target: str = "", pax: dict[str, str] | None = None,
           ) -> tuple[tarfile.TarInfo, bytes]:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, int(mtime), target
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.pax_headers = pax or {}
    return info, data


def archive(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


SAMPLE = archive(
    member("top", tarfile.DIRTYPE, mode=0o750, mtime=1_100_000_000),
    member("top/run.sh", mode=0o4775, mtime=1_200_000_000, data=b"#!/bin/sh\n"),
    member("top/readonly", mode=0o444, mtime=1_300_000_000, data=b"r"),
    member("top/fraction", data=b"f", pax={"mtime": "1400000000.25"}),
    member("implied/deeper/file", mode=0o600, data=b"i"),
    member("top/link", tarfile.SYMTYPE, target="run.sh"),
    member("top/hard", tarfile.LNKTYPE, target="top/readonly"),
)


def facts(root: Path) -> Iterator[tuple[str, str, int, float]]:
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        mtime = info.st_mtime if kind != "link" else 0.0
        yield str(path.relative_to(root)), kind, stat.S_IMODE(info.st_mode), mtime


@pytest.mark.parametrize("engine", ENGINES)
def test_modes_times_and_left_out_folders(engine: str, tmp_path: Path) -> None:
    safe_extract(io.BytesIO(SAMPLE), tmp_path, engine=engine)
    got = {name: (kind, mode, mtime) for name, kind, mode, mtime in facts(tmp_path)}
    assert got["top"] == ("dir", 0o750, 1_100_000_000)  # set once its files were written
    assert got["top/run.sh"] == ("file", 0o755, 1_200_000_000)  # no set-uid, umask 022
    assert got["top/readonly"] == ("file", 0o444, 1_300_000_000)
    assert got["top/fraction"] == ("file", 0o644, 1_400_000_000.25)
    assert got["implied"][:2] == ("dir", 0o755) and got["implied/deeper"][:2] == ("dir", 0o755)
    assert got["implied/deeper/file"][:2] == ("file", 0o600)
    assert os.readlink(tmp_path / "top" / "link") == "run.sh"
    assert (tmp_path / "top" / "hard").stat().st_ino == (tmp_path / "top" / "readonly").stat().st_ino


def test_both_engines_make_the_same_tree(tmp_path: Path) -> None:
    if not gnu_tar():
        pytest.skip("no GNU tar")
    safe_extract(io.BytesIO(SAMPLE), tmp_path / "tar", engine="tar")
    safe_extract(io.BytesIO(SAMPLE), tmp_path / "python", engine="python")
    def settled(root: Path) -> list[tuple[str, str, int, float]]:
        # folders the archive leaves out are made "now" by both
        return [(n, k, m, 0.0 if n.startswith("implied") and k == "dir" else t)
                for n, k, m, t in facts(root)]  # fmt: skip

    assert settled(tmp_path / "python") == settled(tmp_path / "tar")


def test_a_strict_umask_does_not_change_the_modes(tmp_path: Path) -> None:
    """Files are made with their final mode, and set again only where the umask took bits."""
    old = os.umask(0o077)
    try:
        safe_extract(io.BytesIO(SAMPLE), tmp_path, engine="python")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "top" / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "top" / "fraction").stat().st_mode) == 0o644


def test_a_time_the_system_cannot_hold_is_left_as_now(tmp_path: Path) -> None:
    info, data = member("far", data=b"x")
    block = bytearray(archive((info, data)))
    block[136:148] = b"\x80" + (10**20).to_bytes(11, "big")  # GNU base-256 mtime
    block[148:156] = b" " * 8
    block[148:155] = f"{sum(block[:512]):06o}\0".encode()
    safe_extract(io.BytesIO(bytes(block)), tmp_path, engine="python")
    assert (tmp_path / "far").read_bytes() == b"x"


@pytest.mark.parametrize("value", ["1e9", "inf", "nan", "12:00", "-", "1.2.3"])
def test_a_pax_time_that_is_not_a_number_is_refused(value: str, tmp_path: Path) -> None:
    data = archive(member("f", data=b"x", pax={"mtime": value}))
    with pytest.raises(ArchiveError, match="bad pax mtime"):
        safe_extract(io.BytesIO(data), tmp_path, engine="python")
    assert list(tmp_path.iterdir()) == []
