"""Version 2 configs into the frozen model: shorthands, defaults, and located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.config import model as m
from runner.config.load import load_config
from runner.errors import ConfigError


@pytest.fixture
def load(tmp_path: Path):  # type: ignore[no-untyped-def]
    def _load(text: str) -> m.Config:
        path = tmp_path / "config.yml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return load_config(path, "config.yml")

    return _load


@pytest.fixture
def errors(load):  # type: ignore[no-untyped-def]
    def _errors(text: str) -> list[str]:
        with pytest.raises(ConfigError) as info:
            load(text)
        return [p.render() for p in info.value.problems]

    return _errors


BASE = """
version: 2
jobs:
  build:
    machine: true
    steps:
{steps}
"""


def steps_config(steps: str) -> str:
    return BASE.format(steps=textwrap.indent(textwrap.dedent(steps).strip("\n"), " " * 6))


def test_shorthands_and_defaults(load) -> None:  # type: ignore[no-untyped-def]
    config = load(
        steps_config("""
        - checkout
        - run: make test
        - run:
            command: ./deploy.sh
            name: Deploy it
            background: yes
            no_output_timeout: 1.5h
            when: always
            environment:
              A: "1"
        - deploy:
            command: echo once
    """)
    )
    job = config.jobs["build"]
    assert job.working_directory == "~/project"
    assert job.parallelism == 1
    assert isinstance(job.executor, m.MachineExecutor) and job.executor.image is None
    checkout, short, long, deploy = job.steps
    assert checkout == m.CheckoutStep(name="Checkout code", path=".")
    assert short == m.RunStep(name="make test", command="make test")
    assert isinstance(long, m.RunStep)
    assert (long.name, long.background, long.no_output_timeout, long.when) == (
        "Deploy it",
        True,
        5400.0,
        m.When.ALWAYS,
    )
    assert dict(long.environment) == {"A": "1"}
    assert isinstance(deploy, m.RunStep) and deploy.deploy and deploy.kind == "deploy"
    assert short.no_output_timeout == 600.0


def test_environment_values_arrive_as_written(load) -> None:  # type: ignore[no-untyped-def]
    config = load("""
        version: 2.0
        jobs:
          build:
            docker:
              - image: cimg/base:2024.01
            environment:
              PY: 3.10
              FLAG: on
              MODE: 0755
              EMPTY:
              QUOTED: "no"
            steps: [checkout]
    """)
    assert dict(config.jobs["build"].environment) == {
        "PY": "3.10",
        "FLAG": "on",
        "MODE": "0755",
        "EMPTY": "",
        "QUOTED": "no",
    }


def test_environment_list_of_maps_form(load) -> None:  # type: ignore[no-untyped-def]
    config = load("""
        version: 2
        jobs:
          build:
            machine: true
            environment:
              - A: 1
              - B: two
            steps: [checkout]
    """)
    assert dict(config.jobs["build"].environment) == {"A": "1", "B": "two"}


def test_docker_images_and_machine_map(load) -> None:  # type: ignore[no-untyped-def]
    config = load("""
        version: 2
        jobs:
          build:
            docker:
              - image: cimg/python:3.12
                user: circleci
                auth: {username: me, password: $PW}
              - image: postgres:16
                name: db
                environment: {POSTGRES_PASSWORD: x}
                command: [postgres, -c, fsync=off]
                entrypoint: docker-entrypoint.sh
            resource_class: large
            parallelism: 4
            working_directory: /app
            steps: [checkout]
          other:
            machine:
              image: ubuntu-2204:current
              docker_layer_caching: true
            steps: [checkout]
    """)
    build = config.jobs["build"]
    assert isinstance(build.executor, m.DockerExecutor)
    primary, db = build.executor.images
    assert primary.user == "circleci" and primary.auth == m.RegistryAuth(
        username="me", password="$PW"
    )
    assert db.name == "db" and db.command == ("postgres", "-c", "fsync=off")
    assert db.entrypoint == ("docker-entrypoint.sh",)
    assert dict(db.environment) == {"POSTGRES_PASSWORD": "x"}
    assert (build.resource_class, build.parallelism, build.working_directory) == (
        "large",
        4,
        "/app",
    )
    other = config.jobs["other"].executor
    assert other == m.MachineExecutor(image="ubuntu-2204:current", docker_layer_caching=True)


def test_every_step_kind_is_read(load) -> None:  # type: ignore[no-untyped-def]
    config = load(
        steps_config("""
        - setup_remote_docker:
            version: 20.10.24
        - save_cache:
            key: deps-{{ checksum "lock" }}
            paths: [~/.cache, vendor]
        - restore_cache:
            key: deps-a
            keys: [deps-b, deps-]
        - persist_to_workspace: {root: ., paths: [dist]}
        - attach_workspace: {at: /tmp/ws}
        - store_artifacts: {path: dist, destination: out}
        - store_test_results: {path: results}
        - add_ssh_keys: {fingerprints: ["aa:bb"]}
        - add-ssh-keys
    """)
    )
    kinds = [s.kind for s in config.jobs["build"].steps]
    assert kinds == [
        "setup_remote_docker",
        "save_cache",
        "restore_cache",
        "persist_to_workspace",
        "attach_workspace",
        "store_artifacts",
        "store_test_results",
        "add_ssh_keys",
        "add_ssh_keys",
    ]
    steps = config.jobs["build"].steps
    assert isinstance(steps[2], m.RestoreCacheStep) and steps[2].keys == (
        "deps-a",
        "deps-b",
        "deps-",
    )
    assert isinstance(steps[1], m.SaveCacheStep) and steps[1].name == "Saving Cache"
    assert steps[5].when is m.When.ALWAYS and steps[6].when is m.When.ALWAYS


def test_foreign_executors_are_modelled(load) -> None:  # type: ignore[no-untyped-def]
    config = load("""
        version: 2
        jobs:
          mac:
            macos: {xcode: "15.0"}
            steps: [checkout]
          win:
            machine: {image: windows-server-2022-gui:current}
            steps: [checkout]
    """)
    assert config.jobs["mac"].executor == m.ForeignExecutor(kind="macos", detail="xcode 15.0")
    assert config.jobs["win"].executor.kind == "windows"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "- run:\n    comand: make",
            [
                "config.yml:7:11: jobs.build.steps[0].run.comand: unknown key 'comand' "
                "(did you mean 'command'?)",
                "config.yml:7:11: jobs.build.steps[0].run: missing required key 'command'",
            ],
        ),
        (
            "- chekout",
            [
                "config.yml:6:9: jobs.build.steps[0]: unknown step 'chekout' (did you mean 'checkout'?)",
            ],
        ),
        (
            "- run:\n  name: x\n  command: y",
            [
                "config.yml:6:9: jobs.build.steps[0]: a step is a map with one key (its type); found "
                "3 keys: run, name, command (indent the step's keys under its type, e.g. '- run:' "
                "then 'name:' and 'command:' two spaces deeper)",
            ],
        ),
        (
            "- deploy: echo hi",
            [
                "config.yml:6:17: jobs.build.steps[0].deploy: This type of step does not support "
                "compressed syntax (write deploy:\n  command: ...)",
            ],
        ),
        (
            "- run:\n    command: x\n    no_output_timeout: 10",
            [
                "config.yml:8:30: jobs.build.steps[0].run.no_output_timeout: invalid duration '10' "
                "(use a number and a unit, such as 20m, 1.5h or 90s)",
            ],
        ),
        (
            "- run:\n    command: x\n    when: allways",
            [
                "config.yml:8:17: jobs.build.steps[0].run.when: invalid value 'allways' "
                "(did you mean 'always'?)",
            ],
        ),
        (
            "- run:\n    command: x\n    background: maybe",
            [
                "config.yml:8:23: jobs.build.steps[0].run.background: expected true or false, "
                "found 'maybe'",
            ],
        ),
        (
            "- save_cache:\n    key: k",
            [
                "config.yml:7:11: jobs.build.steps[0].save_cache: missing required key 'paths'",
            ],
        ),
        (
            "- restore_cache: {}",
            [
                "config.yml:6:24: jobs.build.steps[0].restore_cache: restore_cache needs 'key' or 'keys'",
            ],
        ),
        (
            "- run: [a, b]",
            [
                "config.yml:6:14: jobs.build.steps[0].run: expected a map of step keys, found a list",
            ],
        ),
    ],
)
def test_step_errors_are_located(errors, steps: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert errors(steps_config(steps)) == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            "version: 3\njobs: {}\n",
            [
                "config.yml:1:10: version: unsupported config version '3' "
                "(runner reads versions 2, 2.0 and 2.1)"
            ],
        ),
        ("jobs: {}\n", ["config.yml:1:1: missing required key 'version' (add 'version: 2.1')"]),
        ("version: 2\n", ["config.yml:1:1: missing required key 'jobs'"]),
        (
            "version: 2\nworkflow: {}\njobs: {}\n",
            [
                "config.yml:2:1: workflow: unknown top-level key 'workflow' (did you mean 'workflows'?)"
            ],
        ),
        ("version: 2\norbs: {}\njobs: {}\n", ["config.yml:2:1: orbs: 'orbs' needs 'version: 2.1'"]),
        (
            "version: 2\njobs:\n  build:\n    steps: [checkout]\n",
            ["config.yml:4:5: jobs.build: a job needs an executor: 'docker', 'machine' or 'macos'"],
        ),
        (
            "version: 2\njobs:\n  build:\n    machine: true\n    docker: [{image: a}]\n"
            "    steps: [checkout]\n",
            [
                "config.yml:5:5: jobs.build.docker: a job has exactly one executor; found machine and docker"
            ],
        ),
        (
            "version: 2\njobs:\n  build:\n    machine: true\n    parallelism: 0\n    steps: []\n",
            ["config.yml:5:18: jobs.build.parallelism: must be at least 1, found 0"],
        ),
        (
            "version: 2\njobs:\n  build:\n    machine: true\n    paralelism: 2\n    steps: []\n",
            [
                "config.yml:5:5: jobs.build.paralelism: unknown job key 'paralelism' "
                "(did you mean 'parallelism'?)"
            ],
        ),
        (
            "version: 2\njobs:\n  build:\n    docker: {image: a}\n    steps: []\n",
            [
                "config.yml:4:13: jobs.build.docker: expected a list of images, found a map "
                "(docker:\n  - image: cimg/base:stable)"
            ],
        ),
        (
            "version: 2\njobs:\n  build:\n    docker:\n      - imag: x\n    steps: []\n",
            [
                "config.yml:5:9: jobs.build.docker[0].imag: unknown key 'imag' (did you mean 'image'?)",
                "config.yml:5:9: jobs.build.docker[0]: missing required key 'image'",
            ],
        ),
        (
            "version: 2\njobs:\n  build:\n    machine: true\n    environment: [1]\n    steps: []\n",
            [
                "config.yml:5:19: jobs.build.environment[0]: expected a map of NAME: value, found a number"
            ],
        ),
    ],
)
def test_job_and_top_level_errors(errors, config: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert errors(config) == expected


def test_all_problems_are_reported_at_once(errors) -> None:  # type: ignore[no-untyped-def]
    found = errors("""
        version: 2
        jobs:
          a:
            machine: true
            steps: [chekout]
          b:
            machine: true
            parallelism: -1
            steps: [{run: {}}]
    """)
    assert len(found) == 3
    assert [f.split(":")[1] for f in found] == ["5", "8", "9"]


WORKFLOW = """
version: 2
jobs:
  build: {machine: true, steps: [checkout]}
  test: {machine: true, steps: [checkout]}
  deploy: {machine: true, steps: [checkout]}
workflows:
  version: 2
  main:
    jobs:
{entries}
"""


def wf(entries: str) -> str:
    return WORKFLOW.replace(
        "{entries}", textwrap.indent(textwrap.dedent(entries).strip("\n"), " " * 6)
    )


def test_workflow_model(load) -> None:  # type: ignore[no-untyped-def]
    config = load(
        wf("""
        - build
        - hold:
            type: approval
            requires: [build]
        - test:
            requires: [build]
            context: [org, deploy]
            filters:
              branches:
                only: [main, /release\\/.*/]
                ignore: wip
              tags:
                only: /^v.*/
        - deploy:
            requires:
              - test
              - hold: success
    """)
    )
    entries = {e.name: e for e in config.workflows["main"].jobs}
    assert entries["hold"].approval and entries["hold"].requires == ("build",)
    test = entries["test"]
    assert test.contexts == ("org", "deploy")
    assert test.filters.branches.allows("main")
    assert test.filters.branches.allows("release/1.2")
    assert not test.filters.branches.allows("releases")
    assert not test.filters.branches.allows("wip")
    assert test.filters.tags.allows("v1.0") and not test.filters.tags.allows("1.0")
    assert entries["deploy"].requires == ("test", "hold")
    assert dict(entries["deploy"].requires_status) == {"hold": ("success",)}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            "- build\n- tset:\n    requires: [build]",
            [
                "config.yml:11:9: workflows.main.jobs[1].tset: job 'tset' is not defined under 'jobs' "
                "(did you mean 'test'?)"
            ],
        ),
        (
            "- build\n- test:\n    requires: [biuld]",
            [
                "config.yml:11:9: workflows.main.jobs.test.requires: requires 'biuld', which is not a "
                "job of this workflow (did you mean 'build'?)"
            ],
        ),
        (
            "- build:\n    requires: [test]\n- test:\n    requires: [build]",
            ["config.yml:10:9: workflows.main.jobs: requires form a cycle: build -> test -> build"],
        ),
        (
            "- build\n- build",
            [
                "config.yml:11:9: workflows.main.jobs[1]: job 'build' appears twice in workflow 'main' "
                "(first at line 10) (give one of them a different 'name:')"
            ],
        ),
        (
            "- build:\n    filters: {branches: {only: '/[/'}}",
            [
                "config.yml:11:38: workflows.main.jobs[0].build.filters.branches.only: invalid regular "
                "expression /[/: unterminated character set at position 0"
            ],
        ),
    ],
)
def test_workflow_errors(errors, entries: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert errors(wf(entries)) == expected


def test_v2_workflows_need_their_version(errors) -> None:  # type: ignore[no-untyped-def]
    text = wf("- build").replace("  version: 2\n  main", "  main")
    assert errors(text) == [
        "config.yml:7:3: workflows: a version 2 config needs 'version: 2' under 'workflows'"
    ]


def test_lists_that_are_not_lists_are_located(errors) -> None:  # type: ignore[no-untyped-def]
    # steps and triggers share Reader.sequence: the problem names the key, its place and kind
    problems = errors("""
    version: 2
    jobs:
      build:
        machine: true
        steps: make test
    workflows:
      version: 2
      nightly:
        triggers: {schedule: {cron: "0 0 * * *"}}
        jobs: [build]
    """)
    assert problems == [
        "config.yml:5:12: jobs.build.steps: expected a list of steps, found a string",
        "config.yml:9:15: workflows.nightly.triggers: expected a list, found a map",
    ]
