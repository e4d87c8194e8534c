"""zstd as runner writes it since issue 17: a run of independent frames, packed and unpacked a
few at a time, each frame checked, and still one ordinary zstd stream to any other reader."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import zstandard

from runner.archive import ArchiveError, as_file, compress, decompressed
from runner.archive.compress import FRAME, MAX_FRAME, unzstd_chunks, unzstd_frames, zstd_frames
from runner.archive.stream import ordered_map


def sample(size: int) -> bytes:
    rnd = random.Random(size)
    words = [rnd.randbytes(rnd.randint(2, 8)) for _ in range(500)]
    block = b"".join(rnd.choice(words) for _ in range(20_000))  # about 100 KiB
    return (block * (size // len(block) + 1))[: size - 1000] + os.urandom(1000)


def chunked(data: bytes, size: int = 1 << 20) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture(params=[1, 3], ids=["one-worker", "three-workers"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    count: int = request.param
    monkeypatch.setattr(compress, "_packers", lambda: count)
    monkeypatch.setattr(compress, "_unpackers", lambda: count)
    return count


def test_a_long_stream_becomes_several_frames_that_read_back_in_order(workers: int) -> None:
    data = sample(3 * FRAME + 12345)
    frames = list(zstd_frames(chunked(data)))
    assert len(frames) == 4
    assert all(zstandard.frame_content_size(f) >= FRAME for f in frames[:-1])
    digest = hashlib.sha256()
    assert b"".join(unzstd_frames(frames, digest)) == data
    # the digest took the frames in file order, whichever thread unpacked which
    assert digest.hexdigest() == hashlib.sha256(b"".join(frames)).hexdigest()
    # and the frames one after another are one zstd stream, to runner's stream reader...
    assert b"".join(unzstd_chunks(chunked(b"".join(frames), 1000))) == data


@pytest.mark.skipif(not shutil.which("zstd"), reason="no zstd program")
def test_the_zstd_program_reads_what_runner_writes() -> None:
    data = sample(2 * FRAME + 7)
    packed = b"".join(zstd_frames(chunked(data)))
    out = subprocess.run(["zstd", "-dc"], input=packed, capture_output=True, check=True).stdout
    assert out == data


def test_an_empty_stream_is_one_empty_frame_or_none() -> None:
    assert b"".join(unzstd_frames(zstd_frames([]))) == b""
    assert b"".join(unzstd_frames(zstd_frames([b"x"]))) == b"x"


def test_damaged_frames_are_refused(workers: int) -> None:
    data = sample(2 * FRAME)
    frames = list(zstd_frames(chunked(data)))
    flipped = bytearray(frames[1])
    flipped[len(flipped) // 2] ^= 0x10
    with pytest.raises(ArchiveError, match="corrupt compressed data"):
        b"".join(unzstd_frames([frames[0], bytes(flipped)]))
    with pytest.raises(ArchiveError, match="corrupt compressed data"):
        b"".join(unzstd_frames([frames[0][:-9]]))


def test_frames_that_hide_their_size_or_claim_too_much_are_refused() -> None:
    streamed = zstandard.ZstdCompressor().compressobj()  # a stream's frame has no size
    unsized = streamed.compress(b"abc") + streamed.flush()
    with pytest.raises(ArchiveError, match="unknown or huge size"):
        list(unzstd_frames([unsized]))
    bomb = zstandard.ZstdCompressor(level=1).compress(bytes(MAX_FRAME + 1))
    with pytest.raises(ArchiveError, match="unknown or huge size"):
        list(unzstd_frames([bomb]))


def test_the_stream_reader_refuses_what_trails_the_frames_and_a_frame_cut_short() -> None:
    frames = b"".join(zstd_frames(chunked(sample(FRAME + 10))))
    with pytest.raises(ArchiveError, match="corrupt compressed data"):
        list(unzstd_chunks([frames, b"trailing garbage"]))
    with pytest.raises(ArchiveError, match="ends early"):
        list(unzstd_chunks([frames[:-5]]))


def test_ordered_map_keeps_order_and_reports_the_first_failure() -> None:
    def slow_echo(item: bytes) -> bytes:
        time.sleep(random.random() / 200)
        if item == b"13":
            raise ArchiveError("thirteen")
        return item

    items = [str(i).encode() for i in range(40)]
    assert list(ordered_map(slow_echo, items[:13], workers=4)) == items[:13]
    seen: list[bytes] = []
    with pytest.raises(ArchiveError, match="thirteen"):
        seen.extend(ordered_map(slow_echo, items, workers=4))
    assert seen == items[:13]


def test_ordered_map_stopped_early_leaves_no_thread_working() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            started.append(item)
        return item

    def endless() -> Iterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    mapped = ordered_map(work, endless(), workers=2)
    assert [next(mapped) for _ in range(5)] == [0, 1, 2, 3, 4]
    mapped.close()
    count = len(started)
    time.sleep(0.05)
    assert len(started) == count <= 5 + 2 * 2 + 1  # a few ahead, then nothing more


def test_a_file_over_chunks_hands_its_chunks_over_untouched() -> None:
    chunks = [b"first", b"second", b"third"]
    assert list(as_file(iter(chunks)).chunks()) == chunks  # type: ignore[attr-defined]
    assert [id(c) for c in as_file(iter(chunks)).chunks()] == [id(c) for c in chunks]  # type: ignore[attr-defined]
    started = as_file(iter(chunks))
    assert started.read(3) == b"fir"
    assert b"".join(started.chunks()) == b"stsecondthird"  # type: ignore[attr-defined]
    packed = b"".join(zstd_frames(chunks))
    assert b"".join(decompressed(as_file(iter([packed[:2], packed[2:]])))) == b"".join(chunks)
