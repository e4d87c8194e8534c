"""Cache key templates [CR]: every action, and a clear error for every bad template."""

from __future__ import annotations

import re

import pytest

from runner.errors import RunnerError
from runner.steps.cache_keys import MAX_KEY, CacheKeyError, KeyFacts, arch, render_key


def facts(**changes: object) -> KeyFacts:
    values: dict[str, object] = {
        "branch": "main",
        "revision": "abc123",
        "build_num": 42,
        "environment": {"CIRCLE_JOB": "build", "LANG_VERSION": "3.11"},
        "checksum": lambda name: f"sum({name})",
        "clock": lambda: 1700000000.9,
    }
    values.update(changes)
    return KeyFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ("v1-{{ .Branch }}", "v1-main"),
        ("v1-{{.Branch}}-{{   .Revision   }}", "v1-main-abc123"),
        ("b{{ .BuildNum }}", "b42"),
        ("{{ .Environment.CIRCLE_JOB }}-{{ .Environment.LANG_VERSION }}", "build-3.11"),
        ("{{ .Environment.NOT_SET }}", "<no value>"),  # as Go templates render a missing key
        ('deps-{{ checksum "package-lock.json" }}', "deps-sum(package-lock.json)"),
        ('{{ checksum "a \\"b\\".txt" }}', 'sum(a "b".txt)'),
        ("e{{ epoch }}", "e1700000000"),
        ("plain", "plain"),
        ("k{{ .CheckoutKey }}", "k"),
    ],
)
def test_templates(template: str, key: str) -> None:
    assert render_key(template, facts()) == key


def test_arch_has_circlecis_shape() -> None:
    assert re.fullmatch(r"arch1/[a-z]+-[a-z0-9_]+", arch())
    assert render_key("{{ arch }}", facts()) == arch()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("v1-{{ .Brnch }}", "unknown template action '{{ .Brnch }}'.*did you mean '.Branch'"),
        ("v1-{{ .Branch", "'{{' without a closing '}}'"),
        ("{{ checksum package.json }}", "checksum takes one quoted file"),
        ("{{ .Environment }}", "unknown template action"),
        ("{{ .Environment.X }}", None),  # renders, but to "<no value>": not an error
        ("{{ .Branch }}" * 200, f"renders to 1000 characters; CircleCI allows {MAX_KEY}"),
        ("{{ .CheckoutKey }}", "renders to nothing"),
    ],
)
def test_bad_templates_say_what_is_wrong(template: str, message: str | None) -> None:
    if message is None:
        render_key(template, facts())
        return
    with pytest.raises(CacheKeyError) as caught:
        render_key(template, facts(branch="mainx"))
    assert re.search(message, caught.value.render(), re.S), caught.value.render()


def test_a_checksum_that_fails_is_worded_as_circleci_prints_it() -> None:
    # CircleCI: `template: cacheKey:1:30: executing "cacheKey" at <checksum ".node-version">:
    # error calling checksum: open ...: no such file or directory` (column = byte offset)
    def missing(name: str) -> str:
        raise RunnerError(f"open /home/u/project/{name}: no such file or directory")

    facts = KeyFacts(branch="main", revision="abc", build_num=1, environment={},
                     checksum=missing)
    with pytest.raises(CacheKeyError) as caught:
        render_key('v1-deps-{{ .Branch }}-{{   checksum ".node-version" }}', facts)
    assert caught.value.message == (
        'template: cacheKey:1:27: executing "cacheKey" at <checksum ".node-version">: '
        "error calling checksum: open /home/u/project/.node-version: no such file or directory"
    )
