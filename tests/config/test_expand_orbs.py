"""Orbs: inline, vendored in an orb directory, nested, and the errors when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.expand_support import error, expand

ORBS = Path(__file__).resolve().parent.parent / "data" / "orbs"




INLINE = """\
version: 2.1
orbs:
  my-orb:
    description: an inline orb
    display: {home_url: "https://example.com"}
    orbs:
      helper:
        commands:
          note:
            parameters: {text: {type: string}}
            steps: [run: echo note << parameters.text >>]
    executors:
      default:
        parameters: {tag: {type: string, default: "20"}}
        docker: [{image: "cimg/node:<< parameters.tag >>"}]
    commands:
      my_command:
        steps:
          - run: echo "Run my tests"
          - helper/note: {text: from-orb}
    jobs:
      my_job:
        parameters: {tag: {type: string, default: "20"}}
        executor: {name: default, tag: << parameters.tag >>}
        steps:
          - checkout
          - my_command
          - store_test_results: {path: test-results}
commands:
  my_command:
    steps: [run: echo "the config's own command"]
jobs:
  build:
    executor: my-orb/default
    steps: [my-orb/my_command, my_command]
workflows:
  main:
    jobs:
      - my-orb/my_job
      - my-orb/my_job:
          name: old-node
          tag: "18"
          pre-steps: [my_command]
"""


def test_inline_orbs() -> None:
    out = expand(INLINE)
    orb_steps = [{"run": 'echo "Run my tests"'}, {"run": "echo note from-orb"}]
    assert out["jobs"] == {
        "build": {
            "docker": [{"image": "cimg/node:20"}],
            "steps": [*orb_steps, {"run": 'echo "the config\'s own command"'}],
        },
        "my-orb/my_job": {
            "docker": [{"image": "cimg/node:20"}],
            "steps": ["checkout", *orb_steps, {"store_test_results": {"path": "test-results"}}],
        },
        "old-node": {
            "docker": [{"image": "cimg/node:18"}],
            # pre-steps resolve in the config: its own ``my_command``, not the orb's
            "steps": [{"run": 'echo "the config\'s own command"'}, "checkout", *orb_steps,
                      {"store_test_results": {"path": "test-results"}}],
        },
    }
    assert out["workflows"]["main"]["jobs"] == ["my-orb/my_job", "old-node"]


@pytest.mark.parametrize(
    ("orb", "message"),
    [
        # an orb's elements see only the orb: not the config's commands [RC]
        ("commands: {c: {steps: [config-command]}}",
         "config.yml:3:30: orbs.o.commands.c.steps[0]: unknown step or command 'config-command'"),
        ("commands: {c: {steps: [run: echo << pipeline.parameters.p >>]}}",
         "config.yml:3:35: orbs.o.commands.c.steps[0].run: pipeline parameter 'p' is not visible "
         "inside an orb (pass it to the orb's job or command as an argument)"),
        ("comands: {c: {steps: [checkout]}}",
         "config.yml:3:7: orbs.o.comands: unknown orb key 'comands' (did you mean 'commands'?)"),
        ("commands: {d: {steps: [checkout]}}",
         "config.yml:11:13: jobs.build.steps[0].o/c: orb 'o' has no command 'c' (its commands: d)"),
    ],
)
def test_inline_orb_errors(orb: str, message: str) -> None:
    text = f"""\
version: 2.1
orbs:
  o: {{{orb}}}
parameters:
  p: {{type: string, default: x}}
commands:
  config-command: {{steps: [checkout]}}
jobs:
  build:
    docker: [{{image: alpine}}]
    steps: [o/c]
"""
    assert error(text) == message


VENDORED = """\
version: 2.1
orbs:
  greeter: acme/greeter@1.2.3
  unused: acme/absent@9.9.9
commands:
  prepare: {steps: [run: echo prepare]}
workflows:
  main:
    jobs:
      - greeter/hello:
          to: team
          pre-steps: [prepare]
"""


def test_a_vendored_orb_and_the_orb_it_imports() -> None:
    # ``acme/absent`` is never used, so it is never looked for
    out = expand(VENDORED, orb_dir=ORBS)
    assert out["jobs"] == {
        "greeter/hello": {
            "docker": [{"image": "alpine:3.19"}],
            "environment": {"GREETER": "1"},
            "steps": [
                {"run": "echo prepare"},
                "checkout",
                {"run": 'echo "hello team"'},
                {"run": "touch marks/greeted"},
            ],
        },
    }
    assert out["workflows"]["main"]["jobs"] == ["greeter/hello"]


def test_a_missing_orb_without_an_orb_directory() -> None:
    text = VENDORED.replace("greeter/hello", "unused/hello")
    assert error(text) == (
        "config.yml:4:11: orbs.unused: orb 'acme/absent@9.9.9' is not vendored (no orb directory "
        "is set); runner never downloads orbs (save its source: mkdir -p .circleci/orbs/acme && "
        "circleci orb source acme/absent@9.9.9 > .circleci/orbs/acme/absent@9.9.9.yml)"
    )


def test_a_missing_orb_in_the_orb_directory() -> None:
    text = VENDORED.replace("greeter/hello", "unused/hello")
    file = ORBS / "acme" / "absent@9.9.9.yml"
    assert error(text, orb_dir=ORBS) == (
        f"config.yml:4:11: orbs.unused: orb 'acme/absent@9.9.9' is not vendored ({file} does not "
        f"exist); runner never downloads orbs (save its source: mkdir -p {file.parent} && "
        f"circleci orb source acme/absent@9.9.9 > {file})"
    )


def test_an_orb_version_from_a_pipeline_parameter() -> None:
    text = """\
        version: 2.1
        parameters:
          greeter-version: {type: string, default: 1.2.3}
        orbs:
          greeter: acme/greeter@<< pipeline.parameters.greeter-version >>
        workflows:
          main:
            jobs: [greeter/hello]
    """
    out = expand(text, orb_dir=ORBS)
    assert out["jobs"]["greeter/hello"]["steps"][1] == {"run": 'echo "hello world"'}


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("greeter",
         "config.yml:3:6: orbs.o: invalid orb reference 'greeter' (write namespace/name@version, "
         "or an inline orb map)"),
        ("acme/greeter@../../etc",
         "config.yml:3:6: orbs.o: invalid orb reference 'acme/greeter@../../etc' (write "
         "namespace/name@version, or an inline orb map)"),
        ("[acme/greeter@1]",
         "config.yml:3:6: orbs.o: expected an orb reference or an inline orb, found a list"),
    ],
)
def test_invalid_orb_references(reference: str, message: str) -> None:
    text = f"""\
version: 2.1
orbs:
  o: {reference}
workflows:
  main:
    jobs: [o/hello]
"""
    assert error(text, orb_dir=ORBS) == message


def test_errors_inside_a_vendored_orb_name_its_file(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    broken = tmp_path / "acme" / "broken@1.0.0.yml"
    broken.write_text("version: 2.1\ncommands:\n  c:\n    steps: [run: echo << parameters.x >>]\n")
    text = """\
        version: 2.1
        orbs:
          b: acme/broken@1.0.0
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [b/c]
    """
    assert error(text, orb_dir=tmp_path) == (
        f"{broken}:4:18: commands.c.steps[0].run: command 'b/c' has no parameter 'x' (declare it "
        "under 'parameters:')"
    )


def test_orbs_importing_each_other_in_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "a.yml").write_text(
        "orbs:\n  b: acme/b@1\ncommands:\n  c:\n    steps: [b/c]\n")
    (tmp_path / "acme" / "b.yml").write_text(
        "orbs:\n  a: acme/a@1\ncommands:\n  c:\n    steps: [a/c]\n")
    text = """\
        version: 2.1
        orbs:
          a: acme/a@1
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [a/c]
    """
    assert error(text, orb_dir=tmp_path) == (
        f"{tmp_path / 'acme' / 'b.yml'}:2:6: orbs.a: orbs import each other in a cycle: "
        "acme/a@1 -> acme/b@1 -> acme/a@1"
    )
