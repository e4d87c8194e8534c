"""Parsed config trees kept between runs (issue 17): the same tree back, or a new parse."""

from __future__ import annotations

import json
import marshal
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.config import parsed
from runner.config import yaml as config_yaml
from runner.config.load import load_config
from runner.config.load_options import LoadOptions
from runner.config.marked import MDict, MList
from runner.config.orb_source import OrbText
from runner.config.parsed import keep_tree, kept_tree, tree_key
from runner.config.yaml import load_file, parse_text
from runner.errors import ConfigError
from runner.store.parsed import ParsedConfigs
from tests.support import make_project, run_cli

DATA = Path(__file__).resolve().parent.parent / "data"
CONFIGS = sorted((DATA / "real_configs").glob("*.yml")) + sorted(
    Path(__file__).resolve().parent.parent.parent.glob("sample_projects/*/.circleci/config.yml")
)


class DictStore:
    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.kept.get(key)

    def put(self, key: str, data: bytes) -> None:
        self.kept[key] = data


def shape(value: Any) -> Any:
    """Everything a consumer can see of a tree: values with their types, every place, every
    written text, the order of keys."""
    if isinstance(value, MDict):
        return ("map", value.mark, [(k, value.key_mark_of(k), shape(v), value.mark_of(k),
                                     value.raw.get(k)) for k, v in value.items()])  # fmt: skip
    if isinstance(value, MList):
        return ("seq", value.mark, [(shape(v), value.mark_of(i), value.raw.get(i))
                                    for i, v in enumerate(value)])  # fmt: skip
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def round_trip(text: str, shown: str) -> tuple[Any, Any]:
    store = DictStore()
    tree = parse_text(text, shown)
    data = text.encode()
    keep_tree(store, tree_key(data, shown), shown, tree)
    return tree, kept_tree(store, tree_key(data, shown), shown)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.parent.parent.name + "/" + p.name)
def test_a_kept_tree_is_the_parsed_one(path: Path) -> None:
    store = DictStore()
    try:
        tree = load_file(str(path), path.name, store)
    except ConfigError:  # some real configs are broken on purpose: nothing kept of those
        assert store.kept == {}
        return
    back = kept_tree(store, tree_key(path.read_bytes(), path.name), path.name)
    assert back is not None and shape(back) == shape(tree)


def test_most_real_configs_parse_and_are_kept() -> None:
    store = DictStore()
    for path in CONFIGS:
        try:
            load_file(str(path), path.name, store)
        except ConfigError:
            continue
    assert len(store.kept) >= len(CONFIGS) - 5


def test_every_kind_of_value_and_place_comes_back() -> None:
    text = (
        "a: 1\nb: 3.10\nc: on\nd: ~\ne: .nan\nf: -.inf\ng: 0o17\nh: true\ni: 'quoted'\n"
        "j: [1, x, {k: 2}]\nl: !!str 12\nm: |\n  block\n  text\n'n 1': 0x1F\n"
    )
    tree, back = round_trip(text, "weird name ✓.yml")
    assert shape(back) == shape(tree)
    assert back.text("b") == "3.10" and back["c"] == "on" and back.text("g") == "0o17"


def test_aliases_still_share_one_object() -> None:
    text = "base: &b {image: x, env: [1, 2]}\none: *b\ntwo: {<<: *b, extra: 1}\nlist: &l [a]\nagain: *l\n"
    tree, back = round_trip(text, "c.yml")
    assert shape(back) == shape(tree)
    assert back["one"] is back["base"] and back["again"] is back["list"]
    assert back["two"]["env"] is back["base"]["env"]


@pytest.mark.parametrize("blob", [
    b"", b"\x00garbage", marshal.dumps((0, 1, 1)), marshal.dumps((7, 1, 1, ())),
    marshal.dumps((0, 1, 1, ((1, 1, 1, "v", 1, 1, None),))),  # a key that is not a string
    marshal.dumps((1, 1, 1, ((b"bytes", 1, 1, None),))), marshal.dumps((1, "1", 1, ())),
    marshal.dumps(compile("1", "x", "eval")), marshal.dumps({"a": 1}),
])  # fmt: skip
def test_a_damaged_or_foreign_kept_file_counts_as_not_kept(blob: bytes) -> None:
    store = DictStore()
    store.kept[tree_key(b"a: 1\n", "c.yml")] = blob
    assert kept_tree(store, tree_key(b"a: 1\n", "c.yml"), "c.yml") is None


def test_the_key_changes_with_the_bytes_and_the_shown_name() -> None:
    keys = {tree_key(b"a: 1\n", "c.yml"), tree_key(b"a: 2\n", "c.yml"), tree_key(b"a: 1\n", "d.yml")}
    assert len(keys) == 3
    assert tree_key(b"a: 1\n", "c.yml") == tree_key(b"a: 1\n", "c.yml")


def test_the_key_changes_with_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    before = tree_key(b"a: 1\n", "c.yml")
    monkeypatch.setattr(parsed, "_parser_identity", lambda: b"another parser")
    assert tree_key(b"a: 1\n", "c.yml") != before


def test_the_parser_identity_names_pyyaml_and_runners_parser() -> None:
    identity = parsed._parser_identity().decode()
    assert "yaml_events.py" in identity and "marked.py" in identity
    assert os.sep + "yaml" + os.sep + "__init__.py" in identity and "_yaml" in identity


def test_load_file_keeps_a_parse_and_parses_an_edited_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "config.yml"
    file.write_text("version: 2.1\njobs: {a: {steps: [checkout]}}\n")
    store = ParsedConfigs(tmp_path / "parsed")
    first = load_file(str(file), "config.yml", store)
    assert not (tmp_path / "parsed").exists()  # written only when a run starts
    store.commit()
    assert len(list((tmp_path / "parsed").iterdir())) == 1

    def refused(text: str, shown: str) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(config_yaml, "parse_text", refused)
    again = load_file(str(file), "config.yml", store)
    assert shape(again) == shape(first) and again is not first
    file.write_text("version: 2.1\njobs: {b: {steps: [checkout]}}\n")
    with pytest.raises(AssertionError, match="parsed again"):
        load_file(str(file), "config.yml", store)


ORB = """\
version: 2.1
commands:
  greet:
    parameters: {who: {type: string, default: world}}
    steps: [{run: echo hello << parameters.who >>}]
"""
USES_ORB = """\
version: 2.1
orbs: {acme: acme/tools@1.0.0}
jobs: {build: {machine: true, steps: [acme/greet]}}
"""


class OneOrb:
    """An orb source that answers one orb, as runner.orbs does from its cache."""

    def __init__(self, text: str) -> None:
        self.text = text

    def resolve(self, reference: str) -> OrbText:
        return OrbText(reference=reference, version="1.0.0", source=self.text,
                       origin="<orb cache>/acme/tools@1.0.0.yml")  # fmt: skip


def greeting(config: Path, options: LoadOptions) -> str:
    step = load_config(config, "config.yml", options).jobs["build"].steps[0]
    return str(getattr(step, "command", ""))


def test_an_orb_from_the_orb_cache_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(USES_ORB)
    store, source = DictStore(), OneOrb(ORB)
    options = LoadOptions(orb_source=source, parsed=store)
    assert greeting(config, options) == "echo hello world"
    assert len(store.kept) == 2  # the config and the orb

    def refused(text: str, shown: str) -> Any:
        raise AssertionError(f"parsed again: {shown}")

    monkeypatch.setattr(config_yaml, "parse_text", refused)
    assert greeting(config, options) == "echo hello world"
    source.text = ORB.replace("world", "edited")  # a newer version of the orb
    with pytest.raises(AssertionError, match="parsed again: <orb cache>"):
        greeting(config, options)


def test_a_vendored_orb_is_parsed_once_and_again_when_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, orb = tmp_path / "config.yml", tmp_path / "orbs" / "acme" / "tools@1.0.0.yml"
    config.write_text(USES_ORB)
    orb.parent.mkdir(parents=True)
    orb.write_text(ORB)
    store = DictStore()
    options = LoadOptions(orb_dir=tmp_path / "orbs", parsed=store)
    assert greeting(config, options) == "echo hello world"
    kept = dict(store.kept)
    assert len(kept) == 2
    monkeypatch.setattr(config_yaml, "parse_text", lambda text, shown: pytest.fail(shown))
    assert greeting(config, options) == "echo hello world"
    monkeypatch.undo()
    orb.write_text(ORB.replace("world", "edited"))
    assert greeting(config, options) == "echo hello edited"
    assert len(store.kept) == 3 and kept.items() <= store.kept.items()


def test_a_file_with_an_error_is_never_kept(tmp_path: Path) -> None:
    file = tmp_path / "config.yml"
    file.write_text("a: 1\na: 2\n")
    store = DictStore()
    for _ in range(2):
        with pytest.raises(ConfigError, match="duplicate key"):
            load_file(str(file), "config.yml", store)
    assert store.kept == {}


def test_the_store_keeps_the_last_used_and_fails_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runner.store.parsed.KEEP", 3)
    store = ParsedConfigs(tmp_path / "parsed")
    for i in range(3):
        store.put(f"k{i}", b"%d" % i)
        store.commit()
        os.utime(tmp_path / "parsed" / f"k{i}", (1000 + i, 1000 + i))
    assert store.get("k0") == b"0"  # used now: the newest
    store.put("k3", b"3")
    store.commit()
    assert sorted(p.name for p in (tmp_path / "parsed").iterdir()) == ["k0", "k2", "k3"]
    (tmp_path / "file").write_text("")
    blocked = ParsedConfigs(tmp_path / "file" / "parsed")  # cannot be made: nothing kept
    blocked.put("k", b"x")
    blocked.commit()
    assert blocked.get("k") is None


# Runs the `runner` executable's entry here and says, at its end, whether PyYAML was loaded.
LOADED_AT_EXIT = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps("yaml" in sys.modules)))
sys.argv = ["runner", "run"]
from runner.__main__ import main
main()
"""


def run_noting_pyyaml(project: Path, state: Path, out: Path) -> tuple[str, bool]:
    env = {**os.environ, "NO_COLOR": "1", "RUNNER_STATE_DIR": str(state)}
    done = subprocess.run([sys.executable, "-c", LOADED_AT_EXIT, str(out)], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text())


def test_a_second_run_of_an_unchanged_config_does_not_load_pyyaml(tmp_path: Path) -> None:
    config = "version: 2\njobs:\n  build:\n    machine: true\n    steps: [{run: echo first}]\n"
    project = make_project(tmp_path / "p", config)
    state, out = tmp_path / "state", tmp_path / "loaded.json"
    first, loaded = run_noting_pyyaml(project, state, out)
    assert loaded is True and "first" in first
    second, loaded = run_noting_pyyaml(project, state, out)
    assert loaded is False and "first" in second
    (project / ".circleci" / "config.yml").write_text(config.replace("first", "edited"))
    third, loaded = run_noting_pyyaml(project, state, out)
    assert loaded is True and "edited" in third and "first" not in third


def test_a_second_run_with_a_vendored_orb_does_not_load_pyyaml(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", USES_ORB, {".circleci/orbs/acme/tools@1.0.0.yml": ORB})
    state, out = tmp_path / "state", tmp_path / "loaded.json"
    first, loaded = run_noting_pyyaml(project, state, out)
    assert loaded is True and "hello world" in first
    second, loaded = run_noting_pyyaml(project, state, out)
    assert loaded is False and "hello world" in second
    orb = project / ".circleci" / "orbs" / "acme" / "tools@1.0.0.yml"
    orb.write_text(ORB.replace("world", "edited"))
    third, loaded = run_noting_pyyaml(project, state, out)
    assert loaded is True and "hello edited" in third


def test_commands_that_only_read_and_refused_configs_keep_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "version: 2\njobs:\n  build:\n    machine: true\n"
                           "    steps: [{run: echo hi}]\n")  # fmt: skip
    env = {"RUNNER_STATE_DIR": str(tmp_path / "state")}
    for args, code in ((["config", "show"], 0), (["plan"], 0), (["run", "nosuchjob"], 2)):
        assert run_cli(args, project, env=env).code == code
    assert not (tmp_path / "state" / "parsed").exists()


def test_a_config_holding_a_secret_of_the_run_is_never_kept(tmp_path: Path) -> None:
    """A value given with -e is a secret: the state directory never holds it, and a kept tree
    holds every string of the config."""
    project = make_project(tmp_path / "p", "version: 2\njobs:\n  build:\n    machine: true\n"
                           "    steps: [{run: {name: use tok-31415-x, command: echo hi}}]\n")  # fmt: skip
    state = tmp_path / "state"
    env = {"RUNNER_STATE_DIR": str(state)}
    assert run_cli(["run", "-e", "TOKEN=tok-31415-x"], project, env=env).code == 0
    assert not (state / "parsed").exists() or not any((state / "parsed").iterdir())
    assert run_cli(["run", "-e", "TOKEN=another-value"], project, env=env).code == 0
    kept = list((state / "parsed").iterdir())
    assert len(kept) == 1 and b"tok-31415-x" in kept[0].read_bytes()
