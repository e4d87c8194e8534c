"""Tar streams in and out of a node, treating every archive as hostile (reliability.md §6).

Extraction (:func:`safe_extract`) refuses ``..`` members, absolute names, writes through links,
hard links to anything but an earlier file of the same archive, devices, FIFOs, sparse and
unknown member types, and archives over a size or member budget, each with one clear message;
with ``LinkPolicy.CONTAINED`` also links that leave the destination. It is all or nothing: the
archive is extracted into a private staging directory and merged in only once all of it was
read and checked, so a refused, truncated or corrupt archive leaves the destination untouched.
``tarfile``'s ``data`` filter is not relied on (CVE-2025-4517, -4330, -4138 are bypasses of
it): the checks here are runner's own, see :mod:`runner.archive.checks` for the link rule.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.archive.checks import ArchiveError, Limits, LinkPolicy, MemberChecker, human_size
    from runner.archive.compress import decompressed, unzstd_chunks, unzstd_frames, zstd_frames
    from runner.archive.extract import safe_extract
    from runner.archive.reader import ScanResult, scan
    from runner.archive.stream import (
        CHUNK,
        as_file,
        file_chunks,
        from_writer,
        gnu_tar,
        gunzip_chunks,
        gzip_chunks,
        prefetch,
        tar_stream,
    )

# Each name is loaded from its module on first use (PEP 562): a run without caches, workspaces
# or artifacts never loads the readers, the compressors or their thread pools (issue 17).
_HOME = {
    "ArchiveError": "checks", "Limits": "checks", "LinkPolicy": "checks",
    "MemberChecker": "checks", "human_size": "checks",
    "decompressed": "compress", "unzstd_chunks": "compress", "unzstd_frames": "compress",
    "zstd_frames": "compress",
    "safe_extract": "extract",
    "ScanResult": "reader", "scan": "reader",
    "CHUNK": "stream", "as_file": "stream", "file_chunks": "stream", "from_writer": "stream",
    "gnu_tar": "stream", "gunzip_chunks": "stream", "gzip_chunks": "stream",
    "prefetch": "stream", "tar_stream": "stream",
}  # fmt: skip
__all__ = [
    "CHUNK",
    "ArchiveError",
    "Limits",
    "LinkPolicy",
    "MemberChecker",
    "ScanResult",
    "as_file",
    "decompressed",
    "file_chunks",
    "from_writer",
    "gnu_tar",
    "gunzip_chunks",
    "gzip_chunks",
    "human_size",
    "prefetch",
    "safe_extract",
    "scan",
    "tar_stream",
    "unzstd_chunks",
    "unzstd_frames",
    "zstd_frames",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'runner.archive' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"runner.archive.{home}"), name)
    globals()[name] = value
    return value
