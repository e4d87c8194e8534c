"""Runner's ustar headers (issue 17: what the docker executor sends a container): what tarfile
and GNU tar read back from them, and None wherever ustar cannot say the member."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest

from runner.archive.extract import gnu_tar
from runner.archive.headers import checksum_ok, number, ustar

NAMES = {
    "short": "dir/file.txt",
    "exactly 100": "n" * 100,
    "split at a slash": "p" * 120 + "/" + "q" * 90,
    "longest prefix": "a" * 155 + "/" + "b" * 100,
}


def read_back(header: bytes, data: bytes = b"") -> tarfile.TarInfo:
    padded = header + data + bytes(-len(data) % 512) + bytes(1024)
    with tarfile.open(fileobj=io.BytesIO(padded)) as archive:
        member = archive.next()
        assert member is not None
        return member


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_what_tarfile_reads_back(name: str) -> None:
    header = ustar(name, tarfile.REGTYPE, size=5, mode=0o4755, mtime=1_700_000_000, uid=1000,
                   gid=1001)  # fmt: skip
    assert header is not None and len(header) == 512
    assert checksum_ok(header, number(header[148:156]))
    member = read_back(header, b"hello")
    assert (member.name, member.size, member.mode, member.mtime) == (name, 5, 0o4755, 1_700_000_000)
    assert (member.uid, member.gid, member.uname, member.gname) == (1000, 1001, "", "")


def test_folders_and_links() -> None:
    folder = read_back(ustar("a/b", tarfile.DIRTYPE, mode=0o750) or b"")
    assert folder.isdir() and folder.name == "a/b" and folder.mode == 0o750
    link = read_back(ustar("l", tarfile.SYMTYPE, linkname="/usr/bin/python3") or b"")
    assert link.issym() and link.linkname == "/usr/bin/python3"


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("é.txt", {}),  # not ASCII: pax says it in UTF-8
        ("x" * 101, {}),  # too long and no slash to split at
        ("a" * 156 + "/b", {}),  # the prefix would be over 155
        ("f", {"linkname": "t" * 101}),
        ("f", {"uid": 8**7}),
        ("f", {"size": 8**11}),  # 8 GiB: GNU's base-256 or pax
        ("f", {"mtime": -1}),
    ],
)
def test_what_ustar_cannot_say_is_left_to_pax(name: str, fields: dict[str, object]) -> None:
    assert ustar(name, tarfile.REGTYPE, **fields) is None  # type: ignore[arg-type]


@pytest.mark.skipif(not gnu_tar(), reason="no GNU tar")
def test_gnu_tar_lists_what_runner_writes() -> None:
    data = b"".join(ustar(name, tarfile.REGTYPE) or b"" for name in NAMES.values()) + bytes(1024)
    listed = subprocess.run([gnu_tar() or "tar", "-t"], input=data, capture_output=True,
                            check=True).stdout.decode().splitlines()  # fmt: skip
    assert listed == list(NAMES.values())

