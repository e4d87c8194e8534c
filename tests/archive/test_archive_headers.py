"""The fast header reader (runner.archive.headers and .scanner, issue 17): what extended
headers say is checked like any name, a header runner refused never reaches ``tar -x``, and
chunk boundaries anywhere change nothing."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from runner.archive import ArchiveError, safe_extract, scan
from runner.archive.checks import MemberChecker
from runner.archive.extract import gnu_tar
from runner.archive.headers import BLOCK, ZEROS, Header, parse
from runner.archive.scanner import scan_fast
from tests.archive.archives import M, tar_bytes

ENGINES = [
    pytest.param("tar", id="gnu-tar", marks=pytest.mark.skipif(not gnu_tar(), reason="no GNU tar")),
    pytest.param("python", id="python"),
]
GOOD = tar_bytes(M("ok/", kind="dir"), M("ok/one.txt", b"1" * 700), M("ok/two.txt", b"2"))


def members_end(data: bytes) -> int:
    """Where the end-of-archive block starts."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        last = archive.getmembers()[-1]
    return last.offset_data + -(-last.size // BLOCK) * BLOCK


def header(info: tarfile.TarInfo, fmt: int = tarfile.PAX_FORMAT, data: bytes = b"") -> bytes:
    info.size = len(data)
    padding = b"\0" * (-len(data) % BLOCK)
    return info.tobuf(fmt, "utf-8", "surrogateescape") + data + padding


def archive(*parts: bytes) -> bytes:
    """GOOD's members, then ``parts``, then the end of the archive."""
    return GOOD[: members_end(GOOD)] + b"".join(parts) + ZEROS * 2


def pax(name: str, records: dict[str, str], kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.pax_headers = records
    return header(info)


def global_header(records: dict[str, str]) -> bytes:
    return tarfile.TarInfo.create_pax_global_header(records)


def symlink(name: str, target: str, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return header(info, fmt)


def file(name: str, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    return header(tarfile.TarInfo(name), fmt, b"x")


def sparse_gnu() -> bytes:
    info = tarfile.TarInfo("holes")
    info.type = tarfile.GNUTYPE_SPARSE
    return header(info, tarfile.GNU_FORMAT)


def extended(kind: bytes, data: bytes) -> bytes:
    info = tarfile.TarInfo("././@LongLink")
    info.type = kind
    return header(info, tarfile.GNU_FORMAT, data)


def negative_size() -> bytes:
    block = bytearray(file("minus.txt", tarfile.GNU_FORMAT)[:BLOCK])
    block[124:136] = b"\xff" * 12  # base-256: -1
    block[148:156] = b"        "
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def bad_checksum() -> bytes:
    block = bytearray(file("fine.txt", tarfile.GNU_FORMAT))
    block[148:156] = b"0000001\0"
    return bytes(block)


HOSTILE = {
    "pax path with ..": (pax("harmless", {"path": "../evil"}), "'..' in its path"),
    "pax path absolute": (pax("harmless", {"path": "/tmp/evil"}), "absolute path"),
    "gnu long name with ..": (file("d/" * 60 + "../../../evil", tarfile.GNU_FORMAT), "'..'"),
    "ustar prefix with ..": (file("../" + "d" * 120 + "/f", tarfile.USTAR_FORMAT), "'..'"),
    "pax linkpath then write-through": (
        pax("l", {"linkpath": "/etc"}, tarfile.SYMTYPE) + file("l/passwd"),
        "written through the link 'l'",
    ),
    "gnu long link then write-through": (
        symlink("l", "/" + "e" * 120, tarfile.GNU_FORMAT) + file("l/x", tarfile.GNU_FORMAT),
        "written through the link 'l'",
    ),
    "pax sparse": (pax("s", {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}), "sparse"),
    "gnu sparse type": (sparse_gnu(), "sparse"),
    "pax global path": (global_header({"path": "../evil"}) + file("f"), "pax global header"),
    "pax size lies in data": (pax("f", {"size": "999999"}), "truncated or corrupt"),
    "bad pax record": (extended(tarfile.XHDTYPE, b"12 path=a\n") + file("a"), "bad pax"),
    "two names": (
        extended(tarfile.GNUTYPE_LONGNAME, b"first\0") + pax("x", {"path": "second"}),
        "two extended headers set the same member's name",
    ),
    "too many extended headers": (
        b"".join(global_header({"comment": str(i)}) for i in range(9)) + file("f"),
        "too long or too many",
    ),
    "extended header and no member": (pax("x", {"path": "a"})[:-BLOCK], "no member after it"),
    "bad checksum": (bad_checksum(), "bad checksum"),
    "negative size": (negative_size(), "negative size"),
}


def with_fields(**fields: bytes) -> bytes:
    """A GNU header block with numeric fields written as given, its checksum made to match."""
    at = {"mode": 100, "size": 124, "mtime": 136, "checksum": 148}
    block = bytearray(file("odd.txt", tarfile.GNU_FORMAT)[:BLOCK])
    for field, value in fields.items():
        block[at[field] : at[field] + len(value)] = value
    if "checksum" not in fields:
        block[148:156] = b"        "
        block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": b"644     "},  # space-padded, no NUL
        {"mode": b"   644\0 "},  # leading spaces
        {"mode": b"0000755\0", "mtime": b"\0" * 12},  # an empty field is 0
        {"mtime": b"17777777777\0"},
        {"mtime": b"\x80" + (2**40).to_bytes(11, "big")},  # GNU base-256
        {"size": b"00000000001\0", "mode": b"0644\0xyz"},  # what follows a NUL is ignored
        {"checksum": b"\0" * 8},  # no checksum at all: refused, as tarfile refuses it
    ],
    ids=[
        "spaces after",
        "spaces before",
        "empty",
        "octal max",
        "base-256",
        "after a NUL",
        "no checksum",
    ],
)
def test_numeric_fields_read_as_tarfile_reads_them(fields: dict[str, bytes]) -> None:
    """The inline fast path and the careful one agree with tarfile (GNU's rules) on every
    form of a numeric field that writers use."""
    block = with_fields(**fields)
    try:
        expected = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        with pytest.raises(ArchiveError, match="bad checksum"):
            parse(block)
        return
    got = parse(block)
    assert (got.mode, got.size, got.mtime) == (expected.mode, expected.size, expected.mtime)


def test_a_header_of_garbage_is_a_bad_checksum() -> None:
    """Not "bad number": garbage in the other numeric fields fails the checksum first, and
    a field that is not a number, in a header whose checksum matches, says which."""
    garbage = bytearray((i * 37 + 11) % 256 for i in range(BLOCK))
    garbage[148:156] = b"0012345\0"
    with pytest.raises(ArchiveError, match="bad checksum"):
        parse(bytes(garbage))
    with pytest.raises(ArchiveError, match="bad number"):
        parse(with_fields(mode=b"64x4\0\0\0\0"))


def snapshot(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_extended_headers_are_checked_and_refused_before_tar_sees_them(
    case: str, tmp_path: Path
) -> None:
    hostile, message = HOSTILE[case]
    data = archive(hostile)
    seen: list[bytes] = []
    with pytest.raises(ArchiveError, match=message):
        scan(io.BytesIO(data), MemberChecker(), seen.append, gated=True)
    # a gated scan passes on approved members only, and never the refused header
    assert data.startswith(b"".join(seen))
    assert len(b"".join(seen)) <= members_end(GOOD)


@pytest.mark.skipif(not gnu_tar(), reason="no GNU tar")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_extended_header_refusals_leave_nothing_behind(case: str, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "outside").mkdir()
    with pytest.raises(ArchiveError, match=HOSTILE[case][1]):
        safe_extract(io.BytesIO(archive(HOSTILE[case][0])), dest, engine="tar")
    assert snapshot(tmp_path) == ["dest", "outside"]


@pytest.mark.parametrize("engine", ENGINES)
def test_what_trails_the_end_of_the_archive_is_never_extracted(engine: str, tmp_path: Path) -> None:
    """GNU tar stops at the first zero block, and so does runner: a member hidden after it
    (behind a "lone zero block") is neither checked nor given to tar."""
    trailer = ZEROS + file("../evil") + symlink("l", "/") + file("l/x") + ZEROS * 2
    data = GOOD[: members_end(GOOD)] + trailer
    dest = tmp_path / "dest"
    safe_extract(io.BytesIO(data), dest, engine=engine)
    assert snapshot(tmp_path) == ["dest", "dest/ok", "dest/ok/one.txt", "dest/ok/two.txt"]


def test_pax_and_long_names_are_what_tar_extracts(tmp_path: Path) -> None:
    """The names the checks see are the names tar writes (the tree is compared after)."""
    long_dir = "d" * 90 + "/" + "e" * 90
    data = archive(
        pax("short", {"path": "renamed.txt"}),
        file(long_dir + "/gnu.txt", tarfile.GNU_FORMAT),
        file(long_dir + "/ustar.txt", tarfile.USTAR_FORMAT),
        symlink("link", "t" * 150, tarfile.GNU_FORMAT),
        header(tarfile.TarInfo("old-style-dir/")),  # a regular member named "x/": a folder
    )
    checker = MemberChecker()
    result = scan(io.BytesIO(data), checker, lambda _b: None)
    assert result.files == (
        "ok/one.txt", "ok/two.txt", "renamed.txt", f"{long_dir}/gnu.txt",
        f"{long_dir}/ustar.txt", "link",
    )  # fmt: skip
    assert checker.kinds["old-style-dir"] == "dir"
    if gnu_tar():
        safe_extract(io.BytesIO(data), tmp_path, engine="tar")
        assert (tmp_path / long_dir / "ustar.txt").read_text() == "x"
        assert len((tmp_path / "link").readlink().name) == 150
        assert (tmp_path / "old-style-dir").is_dir()


@pytest.mark.parametrize("size", [1, 3, 511, 512, 513, 4096 + 7, 1 << 20])
def test_chunk_boundaries_anywhere(size: int) -> None:
    data = archive(
        pax("p" * 200, {"comment": "x" * 600}),
        file("a" * 120, tarfile.GNU_FORMAT),
        header(tarfile.TarInfo("big"), data=bytes(range(256)) * 50),
    )
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    for gated in (False, True):
        seen: list[bytes] = []
        result = scan(chunks, MemberChecker(), seen.append, gated=gated)
        assert result.members == 6
        expected = data if not gated else data[: members_end(data)] + ZEROS * 2
        assert b"".join(seen) == expected


@pytest.mark.parametrize("size", [1, 3, 511, 512, 513, 700, 4096 + 7, 1 << 20])
def test_member_data_reaches_the_writer_whole_across_chunk_boundaries(size: int) -> None:
    """What the direct writer gets of each member is its data, whole and without padding,
    wherever the chunks end (in the data, in the padding, or right at a header)."""
    big = bytes(range(256)) * 50
    data = archive(header(tarfile.TarInfo("big"), data=big), header(tarfile.TarInfo("empty")))
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    got: dict[str, bytes] = {}

    def keep(header: Header, name: str, pieces: list[memoryview]) -> None:
        got[name] = b"".join(pieces)

    scan_fast(chunks, MemberChecker(), lambda _: None, gated=False, chunk=size, on_member=keep)
    assert got == {"ok": b"", "ok/one.txt": b"1" * 700, "ok/two.txt": b"2", "big": big,
                   "empty": b""}  # fmt: skip


@pytest.mark.parametrize("cut", [BLOCK + 100, BLOCK + 12700, BLOCK + 12750])
def test_a_stream_cut_in_a_members_data_or_padding_is_refused(cut: int) -> None:
    """Cut in the data, at its end (before the padding), or in the padding."""
    start = members_end(GOOD)
    data = archive(header(tarfile.TarInfo("big"), data=bytes(12700)))[: start + cut]
    for chunk in (cut, 511):
        chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        with pytest.raises(ArchiveError, match="ends in the data of 'big'"):
            scan_fast(chunks, MemberChecker(), lambda _: None, gated=False, chunk=chunk,
                      on_member=lambda *_: None)  # fmt: skip


def test_a_name_below_a_folder_that_became_a_link_is_refused() -> None:
    """The checker skips parents it just found clear; a link created since must still count."""
    for link in ("a/b", "a"):
        checker = MemberChecker()
        checker.check(Header("a/b/x", tarfile.REGTYPE, 0, ""))
        checker.check(Header(link, tarfile.SYMTYPE, 0, "/etc"))
        with pytest.raises(ArchiveError, match=f"written through the link '{link}'"):
            checker.check(Header("a/b/y", tarfile.REGTYPE, 0, ""))
