"""The terminal-control filter (issue 14): exact results, and the same result however the text
is cut into chunks."""

from __future__ import annotations

import pytest

from runner.output import Masker, StepSink
from runner.sanitize import Sanitizer, clean, strip_sgr, visible

CASES = [
    ("A\x1b]52;c;ZXZpbA==\x07B", "AB"),  # OSC 52, BEL-terminated
    ("A\x1b]52;c;ZXZpbA==\x1b\\B", "AB"),  # ST-terminated
    ("\x1b]8;;https://evil.example/\x1b\\LINK\x1b]8;;\x1b\\", "LINK"),  # OSC 8
    ("E\x1b[6nF", "EF"),
    ("G\x1b[cH\x1b[>0c", "GH"),
    ("\x1b[1A\x1b[2K✓ deploy passed", "✓ deploy passed"),
    ("I\x1bP1$r\x1b\\J", "IJ"),  # DCS
    ("K\x9b6nL", "KL"),  # 8-bit CSI
    ("K\x9d0;t\x9cL", "KL"),  # 8-bit OSC and ST
    ("M\x1b_apc\x1b\\N\x1b^pm\x1b\\O\x1bXsos\x1b\\P", "MNOP"),
    ("\x1b7\x1bc\x1bM\x1b(B\x1b#8Q", "Q"),  # two- and three-character sequences
    ("\x1b[?1049h\x1b[?25l\x1b[2J\x1b[HR", "R"),
    ("a\x00b\x07c\x08d\x0be\x0cf\x7fg\x85h", "abcdefgh"),
    ("tab\there\n", "tab\there\n"),
    ("\x1b[31mred\x1b[0m \x1b[1;38;5;208mx\x1b[38:2:1:2:3m", None),  # colour is kept as is
    ("win\r\nline\r\n", "win\nline\n"),
    ("10%\r20%\r30%\n", "10%\n20%\n30%\n"),
    ("unterminated \x1b]0;title\nnext", "unterminated \nnext"),  # a newline ends a string
    ("\x1b[31;4$m", ""),  # intermediates: not SGR
    ("\x1b[" + "1;" * 100 + "m", ""),  # over-long: not kept
    ("x\x1b[1\x18y", "xy"),  # CAN cancels
    ("é ü 中文 😀", None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_whole_text(raw: str, expected: str | None) -> None:
    assert clean(raw) == (raw if expected is None else expected)


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_every_cut_gives_the_same_result(raw: str, expected: str | None) -> None:
    want = raw if expected is None else expected
    for cut in range(len(raw) + 1):
        sanitizer = Sanitizer()
        got = sanitizer.feed(raw[:cut]) + sanitizer.feed(raw[cut:]) + sanitizer.finish()
        assert got == want, cut
    one_by_one = Sanitizer()
    assert "".join(one_by_one.feed(c) for c in raw) + one_by_one.finish() == want


def test_a_step_sink_cleans_sequences_split_across_writes_and_idle_flushes() -> None:
    seen: list[tuple[str, bool]] = []
    sink = StepSink(lambda text, partial: seen.append((text, partial)), Masker(["SECRET1"]))
    for piece in (b"pre\x1b]5", b"2;c;QUFB\x07 SEC", b"\x1b[6nRET1 \x1b[3", b"1mred\x1b["):
        sink.write(piece)
        sink.idle()
    sink.write(b"0m\r")
    sink.write(b"\nbar\r")
    sink.close()
    assert "".join(t + ("" if p else "\n") for t, p in seen) == (
        "pre ******** \x1b[31mred\x1b[0m\nbar\n"
    )


def test_strip_sgr_and_visible() -> None:
    assert strip_sgr(clean("\x1b[31mred\x1b[0m\x1b]0;t\x07")) == "red"
    assert visible("a\x1b[2Kb\tc\nd\x9be") == "a\\x1b[2Kb\\tc\\nd\\x9be"
    assert visible("chk [b] [/]") == "chk [b] [/]"
