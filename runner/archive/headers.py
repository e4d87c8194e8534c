"""Tar headers read with plain slicing: the fields the checks need, and nothing else (issue 17).

:mod:`tarfile` builds a full ``TarInfo`` per member (every field decoded, several method calls,
50-150 µs a header); checking a 20,000-member cache spent more time there than ``tar`` took to
extract it. Here a 512-byte header becomes a :class:`Header` with name, type, size and link
target, read the way GNU tar reads them (``list.c``'s ``read_header``), which is the program
that extracts what was checked:

* a name is ``prefix/name`` only under the POSIX magic ``ustar\\0`` (GNU's own magic uses that
  space for other fields);
* a GNU long name or long link (``L``/``K``) or a pax header (``x``) carries the name, the
  link target or the size of the member that follows; a pax global header (``g``) may carry
  none of those (refused: which of the two programs would apply it to what is not worth
  betting on), and so may two different sources at once;
* ``GNU.sparse.*`` keywords mark a sparse file (refused by the checks, as the ``S`` type is);
* a regular member whose name ends with ``/`` is a directory (what GNU tar makes of it).

A header whose checksum does not match, or whose numbers are not numbers, is corrupt.
"""

from __future__ import annotations

import struct
import tarfile
from zlib import adler32

from msgspec import Struct

from runner.archive.checks import ArchiveError

BLOCK = tarfile.BLOCKSIZE
ZEROS = bytes(BLOCK)
LONG_NAME, LONG_LINK, PAX, PAX_GLOBAL, SOLARIS_PAX = b"L", b"K", b"x", b"g", b"X"
EXTENDED = frozenset((LONG_NAME, LONG_LINK, PAX, PAX_GLOBAL, SOLARIS_PAX))
MAX_EXTENDED = 1 << 20  # bytes of one extended header's data: names are at most PATH_MAX
_POSIX_MAGIC = b"ustar\x00"
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_MEMBER_KEYS = ("path", "linkpath", "size")
_LINK_TYPES = (tarfile.LNKTYPE, tarfile.SYMTYPE)
# name, mode, size, mtime, checksum, type, link target, magic, prefix (POSIX.1-1988 ustar,
# and GNU tar); owners and device numbers are skipped: extraction never applies them
_LAYOUT = struct.Struct("100s8s16x12s12s8sc100s6s82x155s")
_CHECKSUM_SPACES = 8 * 0x20  # the checksum is computed with its own field as spaces
# every field of a POSIX.1-1988 ustar header, as written (the last 12 bytes are padding)
_USTAR = struct.Struct("100s8s8s8s12s12s8sc100s6s2s32s32s8s8s155s12x")
_OCTAL_LIMITS = (8**7, 8**11)  # what 7 and 11 octal digits can say
_PAD = b"\0 "  # what ends a numeric field


class Header(Struct):
    """What the checks read of a member: the same attribute names as ``tarfile.TarInfo``."""

    name: str
    type: bytes
    size: int
    linkname: str
    mode: int = 0o644
    mtime: float = 0.0
    sparse: bool | None = None  # as TarInfo: None unless a sparse file


class Extended(Struct):
    """What extended headers said about the member that follows them."""

    name: str | None = None
    linkname: str | None = None
    size: int | None = None
    mtime: float | None = None  # pax records sub-second times
    sparse: bool = False

    def __bool__(self) -> bool:
        fields = (self.name, self.linkname, self.size, self.mtime)
        return fields != (None, None, None, None) or self.sparse


def ustar(name: str, kind: bytes, *, size: int = 0, mode: int = 0o644, mtime: int = 0,
          uid: int = 0, gid: int = 0, linkname: str = "") -> bytes | None:  # fmt: skip
    """A ustar header for a member that ustar can describe (ASCII names that fit its fields,
    numbers in range), owned by number only; None for any other, which ``tarfile``'s pax
    writer then says at about twenty times the cost (issue 17: 50 µs a header, a second for a
    20,000-file cache)."""
    if kind == tarfile.DIRTYPE and not name.endswith("/"):
        name += "/"  # as tarfile writes a folder
    if not (name.isascii() and linkname.isascii() and len(linkname) <= 100):
        return None
    small, big = _OCTAL_LIMITS
    if not (0 <= uid < small and 0 <= gid < small and 0 <= size < big and 0 <= mtime < big):
        return None
    prefix, base = "", name
    if len(name) > 100:  # split at a slash: prefix (155 at most) "/" name (100 at most)
        cut = name.find("/", len(name) - 101)
        if cut <= 0 or cut > 155:
            return None
        prefix, base = name[:cut], name[cut + 1 :]
    block = bytearray(_USTAR.pack(
        base.encode(), b"%07o\0" % (mode & 0o7777), b"%07o\0" % uid, b"%07o\0" % gid,
        b"%011o\0" % size, b"%011o\0" % mtime, b" " * 8, kind, linkname.encode(),
        _POSIX_MAGIC, b"00", b"", b"", b"0000000\0", b"0000000\0", prefix.encode(),
    ))  # fmt: skip
    block[148:156] = b"%06o\0 " % byte_sum(block)
    return bytes(block)


def corrupt(why: str) -> ArchiveError:
    return ArchiveError(f"refused archive: truncated or corrupt ({why})")


def padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def number(field: bytes) -> int:
    """A numeric field: octal text, or GNU's base-256 for values octal cannot hold."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0xFF else value
    digits = field.split(b"\0", 1)[0].strip(b" ")
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise corrupt(f"bad number {bytes(field)!r} in a header") from None


def text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def byte_sum(block: bytes | bytearray) -> int:
    """The sum of a 512-byte block's bytes. adler32's first half is 1 + the byte sum modulo
    65521: exact for 256 bytes (at most 65,280), and a C loop where ``sum(block)`` costs most
    of a header's parse."""
    return (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - 2


def checksum_ok(block: bytes, stored: int) -> bool:
    """Unsigned or (old Sun tars) signed sum of the header, as GNU tar and tarfile accept."""
    unsigned = byte_sum(block) - sum(block[148:156]) + _CHECKSUM_SPACES
    if stored == unsigned:
        return True
    high = sum(1 for byte in block[:148] + block[156:] if byte >= 0x80)
    return stored == unsigned - 256 * high


def parse(block: bytes) -> Header:
    """One 512-byte header block (not all zeros) as a Header, before extended headers apply."""
    name, mode, size, mtime, checksum, kind, link, magic, prefix = _LAYOUT.unpack_from(block)
    numbers = None
    if not (mode[0] | size[0] | mtime[0] | checksum[0]) & 0x80:  # else GNU's base-256
        # the usual fields, octal digits then NUL or space: one C call each, inline rather
        # than a function a field (a header is parsed per member, 20,000 times a cache)
        try:  # noqa: SIM105 - a with-block costs more than the parse
            numbers = (
                int(mode.rstrip(_PAD) or b"0", 8),
                int(size.rstrip(_PAD) or b"0", 8),
                int(mtime.rstrip(_PAD) or b"0", 8),
                int(checksum.rstrip(_PAD) or b"0", 8),
            )
        except ValueError:
            pass
    if numbers is None:  # the careful way: the same numbers wherever the usual way reads one
        numbers = _careful_numbers(block, mode, size, mtime, checksum)
    unsigned = byte_sum(block) - sum(checksum) + _CHECKSUM_SPACES
    if numbers[3] != unsigned and not checksum_ok(block, numbers[3]):
        raise corrupt("bad checksum in a header")
    path = name.partition(b"\0")[0]
    if magic == _POSIX_MAGIC and prefix[0] != 0:
        path = prefix.partition(b"\0")[0] + b"/" + path
    target = text(link) if kind in _LINK_TYPES else ""
    if numbers[1] < 0:  # base-256 can say it
        raise corrupt("a negative size in a header")
    return Header(path.decode("utf-8", "surrogateescape"), kind, numbers[1], target,
                  numbers[0], numbers[2])  # fmt: skip


def _careful_numbers(
    block: bytes, mode: bytes, size: bytes, mtime: bytes, checksum: bytes
) -> tuple[int, int, int, int]:
    stored = number(checksum)  # the checksum first: what garbage fails, and says so best
    if not checksum_ok(block, stored):
        raise corrupt("bad checksum in a header")
    return number(mode), number(size), number(mtime), stored


def finish(header: Header, extended: Extended) -> Header:
    """The member as GNU tar extracts it: extended headers applied, ``name/`` a directory."""
    if extended.name is not None:
        header.name = extended.name
    if extended.linkname is not None:
        header.linkname = extended.linkname
    if extended.size is not None:
        header.size = extended.size
    if extended.mtime is not None:
        header.mtime = extended.mtime
    if extended.sparse or header.type == tarfile.GNUTYPE_SPARSE:
        header.sparse = True
    if header.type in _FILE_TYPES and header.name.endswith("/"):
        header.type = tarfile.DIRTYPE
    return header


def read_extended(kind: bytes, data: bytes, into: Extended) -> None:
    """Apply the data of an extended header (``L``, ``K``, ``x``, ``g`` or ``X``) to ``into``."""
    if kind == LONG_NAME:
        _set(into, "name", text(data))
    elif kind == LONG_LINK:
        _set(into, "linkname", text(data))
    else:
        records = _pax_records(data)
        if kind == PAX_GLOBAL:
            if any(k in _MEMBER_KEYS or k.startswith("GNU.sparse.") for k in records):
                raise ArchiveError(
                    "refused archive: a pax global header sets names or sizes of members"
                )
            return
        for key, value in records.items():
            if key == "path":
                _set(into, "name", value)
            elif key == "linkpath":
                _set(into, "linkname", value)
            elif key == "size":
                _set(into, "size", _pax_size(value))
            elif key == "mtime":
                _set(into, "mtime", _pax_time(value))
            elif key.startswith("GNU.sparse."):
                into.sparse = True


def _set(into: Extended, field: str, value: str | float) -> None:
    if getattr(into, field) is not None:
        raise ArchiveError(f"refused archive: two extended headers set the same member's {field}")
    setattr(into, field, value)


def _pax_size(value: str) -> int:
    if not value.isdigit() or not value.isascii():
        raise corrupt(f"bad pax size {value!r}")
    return int(value)


def _pax_time(value: str) -> float:
    """``[-]seconds[.fraction]``, as pax writes it (float() alone would take "inf" or "1e9")."""
    whole, _, fraction = value.removeprefix("-").partition(".")
    if not (whole.isdigit() and whole.isascii() and (not fraction or fraction.isdigit())):
        raise corrupt(f"bad pax mtime {value!r}")
    return float(value)


def _pax_records(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records (POSIX.1-2001 pax); the length counts the whole record."""
    out: dict[str, str] = {}
    at = 0
    end = data.find(b"\0")
    end = len(data) if end < 0 else end
    while at < end:
        space = data.find(b" ", at, end)
        length = data[at:space]
        if space < 0 or not length.isdigit() or int(length) < space - at + 3:
            raise corrupt("bad pax header record")
        record = data[space + 1 : at + int(length)]
        at += int(length)
        if at > end or not record.endswith(b"\n") or b"=" not in record:
            raise corrupt("bad pax header record")
        key, _, value = record[:-1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
    return out
