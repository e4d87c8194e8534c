"""Building tar archives for tests, hostile ones included, member by member."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass

import zstandard


@dataclass(frozen=True)
class M:
    """One member: a file (``data``), or ``kind`` dir / sym / lnk / chr / blk / fifo."""

    name: str
    data: bytes = b""
    kind: str = "file"
    target: str = ""
    size: int | None = None  # a header that lies about its size

    def info(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.name)
        info.type = {
            "file": tarfile.REGTYPE,
            "dir": tarfile.DIRTYPE,
            "sym": tarfile.SYMTYPE,
            "lnk": tarfile.LNKTYPE,
            "chr": tarfile.CHRTYPE,
            "blk": tarfile.BLKTYPE,
            "fifo": tarfile.FIFOTYPE,
        }[self.kind]
        info.mode = 0o755 if self.kind == "dir" else 0o644
        info.linkname = self.target
        info.size = len(self.data) if self.size is None else self.size
        return info


def tar_bytes(*members: M) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for member in members:
            info = member.info()
            if member.size is not None and member.kind != "file":
                # tarfile writes no data for links; put the lie in the header only
                archive.fileobj.write(info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict"))
                continue
            archive.addfile(info, io.BytesIO(member.data) if member.kind == "file" else None)
    return buffer.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def zst(data: bytes) -> bytes:
    """zstd as runner writes it (with zstd's content checksum)."""
    return zstandard.ZstdCompressor(level=1, write_checksum=True).compress(data)
