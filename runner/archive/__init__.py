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
