"""Step output: line splitting, partial lines, masking across chunk boundaries, capped logs."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.output import MASK, CappedLog, Masker, StepSink


class Lines:
    def __init__(self) -> None:
        self.items: list[tuple[str, bool]] = []

    def __call__(self, text: str, partial: bool) -> None:
        self.items.append((text, partial))

    @property
    def text(self) -> str:
        return "".join(t if p else t + "\n" for t, p in self.items)


def test_lines_partial_lines_and_utf8_split_across_chunks() -> None:
    out = Lines()
    sink = StepSink(out, Masker())
    sink.write(b"one\ntw")
    sink.idle()
    sink.write(b"o\n\xc3")
    sink.write(b"\xa9t\xc3\xa9\r\nlast")
    sink.close()
    assert out.items == [
        ("one", False),
        ("tw", True),
        ("o", False),
        ("été", False),
        ("last", False),
    ]
    assert list(sink.tail) == ["one", "two", "été", "last"]


def test_masking_whole_and_prefix_secrets() -> None:
    masker = Masker(["hunter2-long", "hunter2-long-and-longer", "abc"])
    assert masker.mask("a hunter2-long-and-longer b hunter2-long") == f"a {MASK} b {MASK}"
    assert masker.mask("abc is too short to mask") == "abc is too short to mask"


def test_multiline_secrets_are_masked_line_by_line() -> None:
    masker = Masker(["-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"])
    assert masker.mask("MIIEvQIBADANBg") == MASK


def test_partial_flush_never_shows_the_start_of_a_secret() -> None:
    out = Lines()
    sink = StepSink(out, Masker(["s3cr3t-t0ken"]))
    sink.write(b"token is s3cr")
    sink.idle()
    sink.write(b"3t-t0k")
    sink.idle()
    sink.write(b"en ok\n")
    sink.close()
    assert "s3cr" not in "".join(t for t, _ in out.items)
    assert out.text == f"token is {MASK} ok\n"


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(alphabet="abcxyz0123-", min_size=4, max_size=20),
    other=st.text(alphabet="abcxyz0123-", min_size=4, max_size=20),
    noise=st.lists(st.text(alphabet="abcxyz \n-", max_size=12), max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    idles=st.lists(st.booleans(), max_size=12),
)
def test_fuzz_no_secret_ever_reaches_output(
    secret: str, other: str, noise: list[str], cuts: list[int], idles: list[bool]
) -> None:
    """Whatever the chunking and idle flushes, no secret appears in what is emitted or logged."""
    stream = secret.join([*noise, ""]) + other + "\n" + secret + other[:2]
    data = stream.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    out = Lines()
    masker = Masker([secret, other])
    sink = StepSink(out, masker)
    last = 0
    for i, point in enumerate([*points, len(data)]):
        sink.write(data[last:point])
        last = point
        if i < len(idles) and idles[i]:
            sink.idle()
    sink.close()
    shown = "\n".join(t for t, _ in out.items)
    for value in (secret, other):
        if value.strip():
            assert value not in shown
            assert value not in out.text


def test_capped_log_keeps_head_and_tail_and_states_the_drop(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "step.log", head=10, tail=10)
    for i in range(100):
        log.write(f"line {i:03d}\n")
    log.close()
    text = (tmp_path / "step.log").read_text()
    assert text.startswith("line 000\nl")
    assert text.endswith("line 099\n")
    assert "bytes of output dropped here]" in text
    assert len(text) < 200


def test_memory_stays_flat_for_a_line_without_newline() -> None:
    out = Lines()
    sink = StepSink(out, Masker())
    for _ in range(200):
        sink.write(b"x" * 10_000)
    assert len(sink._pending) <= 64 * 1024 + 10_000
    assert sum(len(t) for t, _ in out.items) > 1_900_000


def test_self_overlapping_secrets_are_never_rejoined_across_flushes() -> None:
    """Found by the fuzz test: greedy masking of each flushed piece left '00' + '00' visible."""
    out = Lines()
    sink = StepSink(out, Masker(["0000", "00001"]))
    data = ("0" * 24 + "00001\n" + "000000").encode()
    sink.write(data[:28])
    sink.idle()
    sink.write(data[28:])
    sink.close()
    assert "0000" not in out.text


def test_the_log_cap_counts_bytes_of_random_output(tmp_path: Path) -> None:
    # issue 13: 50 MB of random bytes decode to ~16 M characters, a third of them U+FFFD
    # (3 bytes each): a cap counted in characters stored 7.9 MB against a 4 MiB cap
    import random

    from runner.output import LOG_HEAD, LOG_TAIL

    out = Lines()
    path = tmp_path / "step.log"
    sink = StepSink(out, Masker(), CappedLog(path))
    noise = random.Random(13).randbytes(50_000_000)
    for start in range(0, len(noise), 65536):
        sink.write(noise[start : start + 65536])
    sink.close()
    data = path.read_bytes()
    note = b"bytes of output dropped here]\n"
    assert note in data
    assert len(data) <= LOG_HEAD + LOG_TAIL + 100, len(data)
    dropped = int(data.split(b"[runner: ")[1].split(b" ")[0])
    assert dropped + len(data) > 50_000_000  # everything stored or counted
    data.decode("utf-8")  # the head was cut on a character boundary


def test_the_head_is_cut_on_a_character_boundary(tmp_path: Path) -> None:
    log = CappedLog(tmp_path / "step.log", head=10, tail=8)
    for _ in range(20):
        log.write("ééé\n")  # 7 bytes a line: the head's limit falls inside a character
    log.close()
    data = (tmp_path / "step.log").read_bytes()
    head = data.split(b"\n[runner: ")[0]
    assert head == "ééé\né".encode()  # 9 bytes: the 10th would split an é
    assert data.split(b"dropped here]\n")[1] == "ééé\n".encode()  # 7 of at most 8 bytes
