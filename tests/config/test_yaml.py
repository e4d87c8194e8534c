"""The safe YAML layer: places, duplicates, budgets, tags, and no YAML 1.1 surprises."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.config import yaml as y
from runner.config.yaml import MDict, MList, parse_text
from runner.errors import ConfigError


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_text(text, "c.yml")
    assert len(info.value.problems) == 1
    return info.value.problems[0].render()


def test_every_key_and_value_keeps_its_place() -> None:
    root = parse_text("version: 2\njobs:\n  build:\n    steps:\n      - checkout\n", "c.yml")
    assert isinstance(root, MDict)
    build = root["jobs"]["build"]
    assert (root.key_mark_of("jobs").line, root.key_mark_of("jobs").col) == (2, 1)
    assert (build.mark_of("steps").line, build.mark_of("steps").col) == (5, 7)
    steps = build["steps"]
    assert isinstance(steps, MList)
    assert str(steps.mark_of(0)) == "c.yml:5:9"


@pytest.mark.parametrize(
    ("written", "value", "text"),
    [
        ("on", "on", "on"),
        ("no", "no", "no"),
        ("yes", "yes", "yes"),
        ("3.10", 3.1, "3.10"),
        ("0755", 755, "0755"),
        ("1e3", 1000.0, "1e3"),
        ("true", True, "true"),
        ('"3.10"', "3.10", "3.10"),
        ("~", None, None),
    ],
)
def test_plain_scalars_keep_their_written_text(written: str, value: object, text: object) -> None:
    root = parse_text(f"v: {written}\n", "c.yml")
    assert root["v"] == value
    assert root.text("v") == text


def test_list_items_keep_written_text() -> None:
    root = parse_text("v: [3.10, on, 010]\n", "c.yml")
    assert [root["v"].text(i) for i in range(3)] == ["3.10", "on", "010"]


def test_duplicate_keys_name_both_places() -> None:
    assert error_of("jobs:\n  a: 1\n  b: 2\n  a: 3\n") == (
        "c.yml:4:3: jobs.a: duplicate key 'a' (first at line 2, column 3)"
    )


def test_merge_keys_explicit_wins_and_earlier_merge_wins() -> None:
    root = parse_text(
        "x: &x {a: 1, b: 1}\ny: &y {b: 2, c: 2}\nz:\n  <<: [*x, *y]\n  a: 0\n", "c.yml"
    )
    assert root["z"] == {"a": 0, "b": 1, "c": 2}


def test_merge_of_a_scalar_is_refused() -> None:
    assert "a merge key '<<' takes a mapping" in error_of("x: 1\ny:\n  <<: 3\n")


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    # Expanded, this is 10**9 nodes: only a budget that stops counting early lets the test end.
    message = error_of("\n".join(lines) + "\n")
    assert "expands to more than 1,000,000 nodes through aliases" in message


def with_shallow_stack(call: Callable[[], str]) -> str:
    """Run ``call`` with room for only 150 more Python frames: a recursive walk would fail."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 150)
    try:
        return call()
    finally:
        sys.setrecursionlimit(old)


def test_deep_nesting_is_refused_without_recursion() -> None:
    message = with_shallow_stack(lambda: error_of("[" * 5000 + "]" * 5000))
    assert message == "c.yml:1:65: nesting deeper than 64 levels"


# Each is refused with runner's message at the 65th level, whichever YAML library version runs:
# PyYAML 6.0.4's libyaml has a nesting limit of its own (1000 levels) that fires first when its
# look-ahead reaches it (issue 12).
DEEP = 2000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * DEEP + "]" * DEEP, "1:65"),
        ("{a: " * DEEP + "}" * DEEP, "1:257"),
        ("jobs:\n  j:\n    steps: " + "[" * DEEP + "]" * DEEP + "\n", "3:73: jobs.j.steps"),
        ("a: ['[[', \"{[\", b, " + "[" * DEEP + "]" * DEEP + "]\n", "1:82: a"),
        ("a: [ # [[[\n  " + "[ " * DEEP + "] " * DEEP + "]\n", "2:127: a"),
        ("- - - " + "[" * DEEP + "]" * DEEP + "\n", "1:68: [0][0][0]"),
        ("".join("  " * i + f"k{i}:\n" for i in range(DEEP)) + "  " * DEEP + "x: 1\n",
         "65:129: k0.k1.k2.k3...(58 more)....k62.k63"),
    ],
)
def test_nesting_is_refused_at_runners_limit(text: str, expected: str) -> None:
    assert error_of(text) == f"c.yml:{expected}: nesting deeper than 64 levels"


def test_unsafe_tags_are_refused() -> None:
    assert error_of("a: !!python/object/apply:os.system [ls]\n") == (
        "c.yml:1:4: a: unsupported YAML tag !!python/object/apply:os.system "
        "(only plain YAML is accepted)"
    )
    assert "unsupported YAML tag !custom" in error_of("a: !custom x\n")


def test_core_tags_are_checked() -> None:
    assert parse_text("a: !!str 3\n", "c.yml")["a"] == "3"
    assert parse_text("a: !!int '3'\n", "c.yml")["a"] == 3
    assert error_of("a: !!int x\n") == "c.yml:1:4: a: 'x' is not a valid !!int"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1: x\n", "c.yml:1:1: mapping key 1 is a number, not a string (quote it: '1')"),
        ("true: x\n", "c.yml:1:1: mapping key true is a boolean, not a string (quote it: 'true')"),
        ("? [a]\n: 1\n", "c.yml:1:3: a mapping key must be a plain string, not a collection"),
    ],
)
def test_keys_must_be_strings(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_unknown_alias_and_syntax_errors_are_located() -> None:
    assert error_of("a: *nope\n") == "c.yml:1:4: a: unknown alias *nope"
    assert error_of("a: [\n").startswith("c.yml:2:1: invalid YAML:")


def test_one_document_only_and_not_empty() -> None:
    assert error_of("a: 1\n---\nb: 2\n") == "c.yml:2:1: only one YAML document is allowed"
    assert error_of("") == "c.yml:1:1: the config file is empty"
    assert error_of("# only a comment\n") == "c.yml:1:1: the config file is empty"


def test_large_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.yml"
    with open(path, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper, nothing on disk
    with pytest.raises(ConfigError) as info:
        y.load_file(str(path), "big.yml")
    assert info.value.problems[0].render() == (
        "big.yml:1:1: the file is 100.0 MiB; a config may be at most 16 MiB"
    )


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError) as info:
        y.load_file(str(path), "c.yml")
    assert "not UTF-8" in info.value.problems[0].render()
