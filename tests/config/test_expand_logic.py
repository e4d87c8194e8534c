"""Logic statements of ``when``/``unless`` steps and workflows [CR "Logic statements"]."""

from __future__ import annotations

from typing import Any

import pytest

from tests.config.expand_support import error, expand


def config(condition: str) -> str:
    return f"""\
version: 2.1
parameters:
  flag: {{type: boolean, default: true}}
  name: {{type: string, default: ""}}
  count: {{type: integer, default: 0}}
jobs:
  build:
    docker: [{{image: alpine}}]
    steps:
      - when:
          condition: {condition}
          steps: [run: echo yes]
"""


def chosen(condition: str, **options: Any) -> bool:
    steps = expand(config(condition), **options)["jobs"]["build"]["steps"]
    return steps == [{"run": "echo yes"}]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("true", True),
        ("false", False),
        ("null", False),
        ("0", False),
        ("0.0", False),
        (".nan", False),
        ('""', False),
        ("1", True),
        ("a string", True),
        ("'false'", True),  # a non-empty string is truthy
        ("<< pipeline.parameters.flag >>", True),
        ("<< pipeline.parameters.name >>", False),
        ("<< pipeline.parameters.count >>", False),
        ("{and: [true, 1, yes]}", True),
        ("{and: [true, 0]}", False),
        ("{and: []}", False),  # statements with no arguments are falsy
        ("{or: [false, '', 3]}", True),
        ("{or: [false, null]}", False),
        ("{or: []}", False),
        ("{not: false}", True),
        ("{not: {and: [true, false]}}", True),
        ("{equal: [main, main, main]}", True),
        ("{equal: [main, master]}", False),
        ("{equal: [true, 'true']}", False),  # a boolean is not a string
        ("{equal: [1, true]}", False),
        ("{equal: [2, 2.0]}", True),
        ("{equal: [<< pipeline.parameters.flag >>, true]}", True),
        ("{equal: []}", False),
        ("{matches: {pattern: '^main$', value: main}}", True),
        ("{matches: {pattern: 'ma', value: main}}", False),  # the entire value must match
        ("{matches: {pattern: 'release/.*', value: release/1.2}}", True),
        ("{matches: {pattern: '[0-9]+', value: 42}}", True),
        ("[a]", True),
        ("'a == b'", True),  # no pipeline value in it: a literal, not an expression
    ],
)
def test_conditions(condition: str, expected: bool) -> None:
    assert chosen(condition) is expected


def test_conditions_on_pipeline_values() -> None:
    condition = "{and: [{equal: [main, << pipeline.git.branch >>]}, {not: << pipeline.git.tag >>}]}"
    assert chosen(condition, pipeline_values={"pipeline.git.branch": "main"}) is True
    assert chosen(condition, pipeline_values={"pipeline.git.branch": "dev"}) is False


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("[]",
         "config.yml:11:22: jobs.build.steps[0].when.condition: an empty list is not a logic "
         "statement (use a literal, or and/or/not/equal/matches)"),
        ("{nand: [true]}",
         "config.yml:11:23: jobs.build.steps[0].when.condition.nand: unknown logic statement "
         "'nand' (did you mean 'and'?)"),
        ("{and: true}",
         "config.yml:11:28: jobs.build.steps[0].when.condition.and: 'and' takes a list, found a "
         "boolean"),
        ("{and: [], or: []}",
         "config.yml:11:22: jobs.build.steps[0].when.condition: a logic statement is a map with "
         "one key (one of: and, or, not, equal, matches)"),
        ("{matches: {pattern: '(', value: x}}",
         "config.yml:11:42: jobs.build.steps[0].when.condition.matches.pattern: invalid regular "
         "expression '(': missing ), unterminated subpattern at position 0"),
        ("{matches: {pattern: a}}",
         "config.yml:11:32: jobs.build.steps[0].when.condition.matches: 'matches' needs 'value'"),
        ("'pipeline.git.branch == \"main\"'",
         "config.yml:11:22: jobs.build.steps[0].when.condition: expression conditions are not "
         "supported: 'pipeline.git.branch == \"main\"' (write a logic statement, e.g. equal: "
         "[main, << pipeline.git.branch >>])"),
    ],
)
def test_condition_errors(condition: str, message: str) -> None:
    assert error(config(condition)) == message


def nested(levels: int) -> str:
    """A condition of ``levels`` nested ``not``, built through an alias: the YAML layer refuses
    more than 64 levels of nesting in the text itself."""
    inner = "{not: " * 60 + "true" + "}" * 60
    outer = "{not: " * (levels - 60) + "*deep" + "}" * (levels - 60)
    return config(outer).replace("jobs:", f"deep: &deep {inner}\njobs:", 1)


def test_nesting_is_limited_to_100_levels() -> None:
    assert expand(nested(100))["jobs"]["build"]["steps"] == [{"run": "echo yes"}]
    message = error(nested(101))
    assert message.startswith("config.yml:6:373: jobs.build.steps[0].when.condition.not.not.")
    assert message.endswith(".not: logic statements nest deeper than 100 levels")


WORKFLOWS = """\
version: 2.1
parameters:
  nightly: {type: boolean, default: false}
jobs:
  build:
    docker: [{image: alpine}]
    steps: [checkout]
workflows:
  commit:
    unless: << pipeline.parameters.nightly >>
    jobs: [build]
  nightly:
    when:
      and: [<< pipeline.parameters.nightly >>, {equal: [main, << pipeline.git.branch >>]}]
    jobs: [build]
  always:
    jobs: [build]
"""


@pytest.mark.parametrize(
    ("given", "commit", "nightly"),
    [
        ({}, True, False),
        ({"nightly": "true"}, False, True),
    ],
)
def test_workflow_conditions(given: dict[str, str], commit: bool, nightly: bool) -> None:
    out = expand(WORKFLOWS, pipeline_parameters=given,
                 pipeline_values={"pipeline.git.branch": "main"})
    assert out["workflows"] == {
        "version": 2,
        "commit": {"when": commit, "jobs": ["build"]},
        "nightly": {"when": nightly, "jobs": ["build"]},
        "always": {"jobs": ["build"]},
    }
