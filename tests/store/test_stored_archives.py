"""Archive files in the stores (issue 17): frames listed in the manifest, read back a few at a
time with the digest checked in the same pass, and every kind of damage refused whole."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from msgspec.structs import replace

from runner.archive import ArchiveError, compress, safe_extract, tar_stream
from runner.archive.compress import FRAME
from runner.store.files import StoredArchive, open_archive, store_archive, verify


def big_tree(root: Path) -> None:
    """Enough bytes for several frames, half of them incompressible."""
    for i in range(12):
        folder = root / f"d{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}").write_bytes(os.urandom(FRAME // 8) + bytes(FRAME // 8))
    (root / "link").symlink_to("d0/f0")


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, StoredArchive]:
    big_tree(tmp_path / "tree")
    folder = tmp_path / "entry"
    folder.mkdir()
    return folder, store_archive(tar_stream(tmp_path / "tree"), folder, "0.tar.zst")


def read_back(folder: Path, archive: StoredArchive) -> bytes:
    return b"".join(open_archive(folder, archive, "cache 'k'"))


def test_frames_are_listed_and_read_back(stored: tuple[Path, StoredArchive], tmp_path: Path) -> None:
    folder, archive = stored
    assert len(archive.frames) >= 3 and sum(archive.frames) == archive.size
    data = (folder / archive.file).read_bytes()
    assert hashlib.sha256(data).hexdigest() == archive.sha256
    assert StoredArchive.from_dict(json.loads(json.dumps(archive.to_dict(with_names=True)))) == archive
    safe_extract(open_archive(folder, archive, "cache 'k'"), tmp_path / "out")
    for path in (tmp_path / "tree").rglob("*"):
        twin = tmp_path / "out" / path.relative_to(tmp_path)
        assert twin.is_symlink() == path.is_symlink()
        if path.is_file() and not path.is_symlink():
            assert twin.read_bytes() == path.read_bytes()


def test_a_manifest_without_frames_reads_the_file_as_one_stream(
    stored: tuple[Path, StoredArchive],
) -> None:
    """Manifests written before frames were listed (and a listing that does not add up)."""
    folder, archive = stored
    whole = read_back(folder, archive)
    assert read_back(folder, replace(archive, frames=())) == whole
    assert read_back(folder, replace(archive, frames=archive.frames[:-1])) == whole


def test_a_listed_frame_bigger_than_runner_writes_is_not_read_whole(
    stored: tuple[Path, StoredArchive], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One "frame" that is the whole file: read as a stream, never into memory at once (a
    one-shot read of it would also stop after its first real frame)."""
    folder, archive = stored
    whole = read_back(folder, archive)
    monkeypatch.setattr(compress, "MAX_FRAME", archive.size - 1)
    assert read_back(folder, replace(archive, frames=(archive.size,))) == whole


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "cut":
        del data[-100:]
    elif how == "longer":
        data += b"\0" * 10
    else:
        data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["cut", "longer", "flipped"])
@pytest.mark.parametrize("framed", [True, False], ids=["framed", "as-a-stream"])
def test_damage_is_refused_before_the_stream_ends(
    stored: tuple[Path, StoredArchive], how: str, framed: bool, tmp_path: Path
) -> None:
    folder, archive = stored
    archive = archive if framed else replace(archive, frames=())
    damage(folder / archive.file, how)
    with pytest.raises(ArchiveError, match=r"is damaged|corrupt compressed data|truncated"):
        read_back(folder, archive)
    with pytest.raises(ArchiveError):
        verify(folder, archive, "cache 'k'")
    dest = tmp_path / "dest"
    with pytest.raises(ArchiveError):
        safe_extract(open_archive(folder, archive, "cache 'k'"), dest)
    assert list(dest.iterdir()) == []  # all or nothing


def test_a_flipped_byte_with_a_matching_digest_is_caught_by_the_frame(
    stored: tuple[Path, StoredArchive],
) -> None:
    """Changed inside the store with its digest made to match: zstd's own check refuses it."""
    folder, archive = stored
    damage(folder / archive.file, "flipped")
    data = (folder / archive.file).read_bytes()
    forged = replace(archive, sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(ArchiveError, match="corrupt compressed data"):
        read_back(folder, forged)


def test_a_missing_file_is_named(stored: tuple[Path, StoredArchive]) -> None:
    folder, archive = stored
    (folder / archive.file).unlink()
    with pytest.raises(ArchiveError, match=r"cache 'k' is missing its data \(0.tar.zst\)"):
        read_back(folder, archive)
