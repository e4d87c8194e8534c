"""Commands, steps parameters, conditional steps, executors and pre/post steps."""

from __future__ import annotations

from textwrap import dedent
from typing import Any

import pytest

from runner.config.expand import expand_config
from runner.config.load import LoadOptions
from runner.config.yaml import parse_text
from tests.config.expand_support import error, expand, plain


def test_commands_call_commands_and_steps_are_spliced() -> None:
    text = """\
        version: 2.1
        commands:
          deps:
            steps: [run: make deps]
          run-tests:
            parameters:
              after-deps: {type: steps, default: []}
              before: {type: steps, default: [run: echo default-before]}
            steps:
              - << parameters.before >>
              - deps
              - steps: << parameters.after-deps >>
              - run: make test
        jobs:
          build:
            docker: [{image: alpine}]
            steps:
              - checkout
              - run-tests:
                  after-deps:
                    - run: echo one
                    - deps
              - run-tests
              - steps: []
    """
    assert expand(text)["jobs"]["build"]["steps"] == [
        "checkout",
        {"run": "echo default-before"},
        {"run": "make deps"},
        {"run": "echo one"},
        {"run": "make deps"},
        {"run": "make test"},
        {"run": "echo default-before"},
        {"run": "make deps"},
        {"run": "make test"},
    ]


def test_a_command_may_override_a_built_in_step() -> None:
    text = """\
        version: 2.1
        commands:
          checkout:
            steps:
              - run: git clone --depth 1 "$CIRCLE_REPOSITORY_URL" .
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [checkout, {save_cache: {key: k, paths: [x]}}]
    """
    assert expand(text)["jobs"]["build"]["steps"] == [
        {"run": 'git clone --depth 1 "$CIRCLE_REPOSITORY_URL" .'},
        {"save_cache": {"key": "k", "paths": ["x"]}},
    ]


def test_steps_arguments_resolve_where_they_are_written() -> None:
    # ``hello`` is a command of the config; the steps passed to the job run it as written there
    text = """\
        version: 2.1
        commands:
          hello:
            parameters: {who: {type: string, default: you}}
            steps: [run: echo hello << parameters.who >>]
          wrap:
            parameters: {inner: {type: steps}}
            steps: [run: echo start, steps: << parameters.inner >>, run: echo end]
        jobs:
          build:
            parameters: {who: {type: string, default: job}}
            docker: [{image: alpine}]
            steps:
              - wrap:
                  inner: [hello: {who: << parameters.who >>}]
    """
    assert expand(text)["jobs"]["build"]["steps"] == [
        {"run": "echo start"}, {"run": "echo hello job"}, {"run": "echo end"},
    ]


@pytest.mark.parametrize(
    ("commands", "message"),
    [
        ("a: {steps: [b]}\n  b: {steps: [c]}\n  c: {steps: [a]}",
         "config.yml:5:15: commands.c.steps[0].a: commands call each other in a cycle: "
         "a -> b -> c -> a"),
        ("a: {steps: [a]}",
         "config.yml:3:15: commands.a.steps[0].a: commands call each other in a cycle: a -> a"),
    ],
)
def test_command_cycles_are_named(commands: str, message: str) -> None:
    text = f"""\
version: 2.1
commands:
  {commands}
jobs:
  build:
    docker: [{{image: alpine}}]
    steps: [a]
"""
    assert error(text) == message


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("chekout",
         "config.yml:8:9: jobs.build.steps[0]: unknown step or command 'chekout' (did you mean "
         "'checkout'?)"),
        ("{say-hello: {}}",
         "config.yml:8:10: jobs.build.steps[0].say-hello: unknown step or command 'say-hello' "
         "(did you mean 'say_hello'?)"),
        ("{say_hello: [x]}",
         "config.yml:8:9: jobs.build.steps[0].say_hello: expected a map of arguments for command "
         "'say_hello', found a list"),
        ("{when: {condition: true}}",
         "config.yml:8:16: jobs.build.steps[0].when: 'when' needs 'steps'"),
        ("{unless: {condition: true, steps: [], else: []}}",
         "config.yml:8:47: jobs.build.steps[0].unless.else: unknown key 'else' of 'unless'"),
    ],
)
def test_step_errors(step: str, message: str) -> None:
    text = f"""\
version: 2.1
commands:
  say_hello: {{steps: [run: echo hello]}}
jobs:
  build:
    docker: [{{image: alpine}}]
    steps:
      - {step}
"""
    assert error(text) == message


def test_command_definition_errors() -> None:
    text = """\
        version: 2.1
        commands:
          a: {step: [checkout]}
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [a]
    """
    assert error(text) == (
        "config.yml:3:7: commands.a.step: unknown command key 'step' (did you mean 'steps'?)"
    )


def test_when_and_unless_steps() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            parameters:
              preinstall: {type: boolean, default: false}
            docker: [{image: alpine}]
            steps:
              - when:
                  condition: << parameters.preinstall >>
                  steps: [run: echo preinstall]
              - unless:
                  condition: << parameters.preinstall >>
                  steps: [run: echo no preinstall]
              - when:
                  condition:
                    equal: [main, << pipeline.git.branch >>]
                  steps: [run: echo on main]
        workflows:
          main:
            jobs:
              - build
              - build: {name: pre, preinstall: true}
    """
    out = expand(text, pipeline_values={"pipeline.git.branch": "main"})
    assert out["jobs"]["build"]["steps"] == [{"run": "echo no preinstall"}, {"run": "echo on main"}]
    assert out["jobs"]["pre"]["steps"] == [{"run": "echo preinstall"}, {"run": "echo on main"}]


# ---------------------------------------------------------------- executors

EXECUTORS = """\
version: 2.1
executors:
  node:
    parameters:
      tag: {type: string, default: lts}
    docker: [{image: "cimg/node:<< parameters.tag >>"}]
    environment: {ENV: ci, SHARED: executor}
    working_directory: /app
    shell: /bin/bash
    resource_class: large
jobs:
"""
EXECUTOR_ENV = {"ENV": "ci", "SHARED": "executor"}


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ("executor: node\nsteps: [checkout]",
         {"docker": [{"image": "cimg/node:lts"}], "environment": EXECUTOR_ENV,
          "working_directory": "/app", "shell": "/bin/bash", "resource_class": "large",
          "steps": ["checkout"]}),
        ("executor: {name: node, tag: '20.1'}\nsteps: [checkout]",
         {"docker": [{"image": "cimg/node:20.1"}], "environment": EXECUTOR_ENV,
          "working_directory": "/app", "shell": "/bin/bash", "resource_class": "large",
          "steps": ["checkout"]}),
        # the job's keys win wholesale; environments merge, the job winning [RC]
        ("docker: [{image: cimg/base:stable}]\nexecutor: node\nshell: /bin/sh\n"
         "environment: {SHARED: job, OWN: '1'}\nsteps: [checkout]",
         {"docker": [{"image": "cimg/base:stable"}], "working_directory": "/app",
          "resource_class": "large", "shell": "/bin/sh",
          "environment": {"ENV": "ci", "SHARED": "job", "OWN": "1"}, "steps": ["checkout"]}),
        # a machine job drops the executor's docker images
        ("machine: {image: ubuntu-2204:current}\nexecutor: node\nsteps: [checkout]",
         {"machine": {"image": "ubuntu-2204:current"}, "environment": EXECUTOR_ENV,
          "working_directory": "/app", "shell": "/bin/bash", "resource_class": "large",
          "steps": ["checkout"]}),
        # the 2.0 list form of environment merges too, later entries winning
        ("executor: node\nenvironment: [{SHARED: list}]\nsteps: [checkout]",
         {"docker": [{"image": "cimg/node:lts"}], "working_directory": "/app",
          "shell": "/bin/bash", "resource_class": "large",
          "environment": [{"ENV": "ci", "SHARED": "executor"}, {"SHARED": "list"}],
          "steps": ["checkout"]}),
    ],
)
def test_executors(job: str, expected: dict[str, Any]) -> None:
    body = "".join(f"    {line}\n" for line in job.splitlines())
    assert expand(EXECUTORS + "  build:\n" + body)["jobs"]["build"] == expected


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ("executor: nod",
         "config.yml:13:15: jobs.build.executor: unknown executor 'nod' (did you mean 'node'?)"),
        ("executor: {tag: x}",
         "config.yml:13:15: jobs.build.executor: an executor invocation needs 'name' "
         "(executor: {name: my-executor, <parameters>})"),
        ("executor: {name: node, tga: x}",
         "config.yml:13:28: jobs.build.executor.tga: executor 'node' has no parameter 'tga' "
         "(its parameters: tag)"),
    ],
)
def test_executor_errors(job: str, message: str) -> None:
    text = EXECUTORS + f"  build:\n    {job}\n    steps: [checkout]\n"
    assert error(text) == message


def test_executor_parameter_of_a_job() -> None:
    text = EXECUTORS + """\
  test:
    parameters:
      e: {type: executor, default: node}
    executor: << parameters.e >>
    steps: [checkout]
workflows:
  main:
    jobs:
      - test: {name: default}
      - test: {name: pinned, e: {name: node, tag: '18'}}
"""
    out = expand(text)
    # without arguments the entry runs the job as defined, under its own name
    assert out["jobs"]["test"]["docker"] == [{"image": "cimg/node:lts"}]
    assert out["jobs"]["pinned"]["docker"] == [{"image": "cimg/node:18"}]
    assert out["workflows"]["main"]["jobs"] == [{"test": {"name": "default"}}, "pinned"]


def test_unknown_executor_key() -> None:
    text = """\
        version: 2.1
        executors:
          e:
            dokcer: [{image: alpine}]
        jobs:
          build: {executor: e, steps: [checkout]}
    """
    assert error(text) == (
        "config.yml:4:5: executors.e.dokcer: unknown executor key 'dokcer' (did you mean "
        "'docker'?)"
    )


# ---------------------------------------------------------------- pre and post steps

def test_pre_and_post_steps() -> None:
    text = """\
        version: 2.1
        commands:
          setup: {steps: [run: echo setup]}
        jobs:
          bar:
            machine: true
            steps: [checkout, run: echo building]
        workflows:
          build:
            jobs:
              - bar:
                  pre-steps: [setup, run: echo "install custom dependency"]
                  post-steps:
                    - run: echo "upload artifact to s3"
    """
    out = expand(text)
    assert out["jobs"]["bar"] == {
        "machine": True,
        "steps": [
            {"run": "echo setup"},
            {"run": 'echo "install custom dependency"'},
            "checkout",
            {"run": "echo building"},
            {"run": 'echo "upload artifact to s3"'},
        ],
    }
    assert out["workflows"]["build"]["jobs"] == ["bar"]


def test_command_nesting_is_bounded() -> None:
    commands = "".join(f"  c{i}: {{steps: [c{i + 1}]}}\n" for i in range(70))
    text = f"""\
version: 2.1
commands:
{commands}  c70: {{steps: [checkout]}}
jobs:
  build:
    docker: [{{image: alpine}}]
    steps: [c0]
"""
    assert error(text) == (
        "config.yml:66:17: commands.c63.steps[0].c64: commands call commands more than 64 levels "
        "deep"
    )


def test_steps_must_be_a_list() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            docker: [{image: alpine}]
            steps:
              - steps: {run: ls}
    """
    assert error(text) == (
        "config.yml:6:16: jobs.build.steps[0].steps: expected a list of steps, found a map"
    )


def test_anchors_and_merge_keys() -> None:
    text = """\
        version: 2.1
        defaults: &defaults
          docker: [{image: cimg/base:stable}]
          working_directory: ~/repo
        commands:
          greet:
            parameters: {who: {type: string, default: all}}
            steps: [run: echo hi << parameters.who >>]
        jobs:
          build:
            <<: *defaults
            steps: &steps
              - checkout
              - greet: {who: build}
          test:
            <<: *defaults
            working_directory: ~/test
            steps: *steps
    """
    out = expand(text)["jobs"]
    assert out == {
        "build": {"docker": [{"image": "cimg/base:stable"}], "working_directory": "~/repo",
                  "steps": ["checkout", {"run": "echo hi build"}]},
        "test": {"docker": [{"image": "cimg/base:stable"}], "working_directory": "~/test",
                 "steps": ["checkout", {"run": "echo hi build"}]},
    }


def test_the_input_tree_is_never_changed() -> None:
    text = dedent("""\
        version: 2.1
        shared: &shared [run: echo << parameters.who >>]
        commands:
          say:
            parameters: {who: {type: string}}
            steps: *shared
        jobs:
          build:
            parameters: {who: {type: string, default: job}}
            docker: [{image: alpine}]
            steps: [say: {who: one}, say: {who: << parameters.who >>}]
        workflows:
          main:
            jobs:
              - build: {matrix: {parameters: {who: [a, b]}}}
    """)
    root = parse_text(text, "config.yml")
    before = plain(root)
    first = plain(expand_config(root, file="config.yml", options=LoadOptions()))
    assert plain(root) == before
    assert plain(expand_config(root, file="config.yml", options=LoadOptions())) == first
    assert first["jobs"]["build-b"]["steps"] == [{"run": "echo one"}, {"run": "echo b"}]
