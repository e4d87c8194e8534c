"""Workflow entries: concrete jobs, matrices, names, ``requires`` and approvals."""

from __future__ import annotations

from textwrap import dedent

import pytest

from tests.config.expand_support import error, expand

JOBS = """\
version: 2.1
jobs:
  build:
    parameters:
      version: {type: string, default: "1.0"}
      platform: {type: string, default: linux}
    docker: [{image: "alpine:<< parameters.version >>"}]
    steps: [run: echo << parameters.platform >>]
  deploy:
    docker: [{image: alpine}]
    steps: [run: deploy]
workflows:
"""


def workflow(entries: str) -> str:
    return JOBS + "  main:\n    jobs:\n" + dedent(entries).replace("\n", "\n      ").join(
        ["      ", "\n"])


def test_the_processed_tree() -> None:
    out = expand(workflow("""\
        - build
        - build:
            name: build-old
            version: "0.9"
            requires: [build]
            filters: {branches: {only: main}}
            context: [org]
        - deploy:
            requires: [build-old]
        - hold:
            type: approval
            requires: [deploy]
    """))
    assert out == {
        "version": 2,
        "jobs": {
            "build": {"docker": [{"image": "alpine:1.0"}], "steps": [{"run": "echo linux"}]},
            "deploy": {"docker": [{"image": "alpine"}], "steps": [{"run": "deploy"}]},
            "build-old": {"docker": [{"image": "alpine:0.9"}], "steps": [{"run": "echo linux"}]},
        },
        "workflows": {
            "version": 2,
            "main": {"jobs": [
                "build",
                {"build-old": {"requires": ["build"], "filters": {"branches": {"only": "main"}},
                               "context": ["org"]}},
                {"deploy": {"requires": ["build-old"]}},
                {"hold": {"type": "approval", "requires": ["deploy"]}},
            ]},
        },
    }


def test_matrix_names_exclude_and_alias() -> None:
    # [CR "matrix"]: 3 x 3 minus one excluded combination = 8 jobs, named with the values in
    # the alphabetical order of the parameter names (platform before version)
    out = expand(workflow("""\
        - build:
            matrix:
              parameters:
                version: ["0.1", "0.2", "0.3"]
                platform: [macos, windows, linux]
              exclude:
                - {platform: windows, version: "0.1"}
        - deploy:
            requires: [build]
    """))
    names = [
        "build-macos-0.1", "build-macos-0.2", "build-macos-0.3",
        "build-windows-0.2", "build-windows-0.3",
        "build-linux-0.1", "build-linux-0.2", "build-linux-0.3",
    ]
    entries = out["workflows"]["main"]["jobs"]
    assert entries == [*names, {"deploy": {"requires": names}}]
    assert out["jobs"]["build-windows-0.3"] == {
        "docker": [{"image": "alpine:0.3"}], "steps": [{"run": "echo windows"}],
    }
    assert list(out["jobs"]) == ["build", "deploy", *names]


def test_matrix_name_alias_and_requires_with_matrix_values() -> None:
    out = expand(workflow("""\
        - build:
            name: compile-<< matrix.version >>
            matrix:
              alias: compile
              parameters:
                version: [3.10, "3.11"]
        - build:
            name: ship-<< matrix.version >>
            requires: [compile-<< matrix.version >>]
            matrix:
              parameters: {version: [3.10, "3.11"]}
        - deploy:
            name: announce
            requires: [compile, build]
    """))
    assert out["workflows"]["main"]["jobs"] == [
        "compile-3.10",
        "compile-3.11",
        {"ship-3.10": {"requires": ["compile-3.10"]}},
        {"ship-3.11": {"requires": ["compile-3.11"]}},
        {"deploy": {"name": "announce", "requires": ["compile-3.10", "compile-3.11", "ship-3.10",
                                                     "ship-3.11"]}},
    ]
    assert out["jobs"]["compile-3.10"]["docker"] == [{"image": "alpine:3.10"}]


def test_the_same_job_twice_in_a_workflow_is_numbered() -> None:
    # [RC]: "the build name will be changed (i.e. sayhello-1, sayhello-2, etc.)"
    out = expand(workflow("""\
        - build: {version: "2.0"}
        - build: {version: "3.0"}
        - deploy
        - deploy
        - deploy: {name: again}
        - deploy: {name: again}
    """))
    assert out["workflows"]["main"]["jobs"] == [
        "build-1", "build-2",
        {"deploy": {"name": "deploy-1"}}, {"deploy": {"name": "deploy-2"}},
        {"deploy": {"name": "again-1"}}, {"deploy": {"name": "again-2"}},
    ]
    assert out["jobs"]["build-2"]["docker"] == [{"image": "alpine:3.0"}]


def test_jobs_shared_or_numbered_across_workflows() -> None:
    text = JOBS + """\
  one:
    jobs:
      - build: {version: "2.0"}
      - deploy: {requires: [build]}
  two:
    jobs:
      - build: {version: "2.0"}
  three:
    jobs:
      - build: {version: "3.0"}
      - deploy: {requires: [build]}
"""
    out = expand(text)
    # identical invocations share one job; different ones are numbered in every workflow
    assert out["workflows"]["one"]["jobs"] == ["build-1", {"deploy": {"requires": ["build-1"]}}]
    assert out["workflows"]["two"]["jobs"] == ["build-1"]
    assert out["workflows"]["three"]["jobs"] == ["build-2", {"deploy": {"requires": ["build-2"]}}]
    assert list(out["jobs"]) == ["build", "deploy", "build-1", "build-2"]


def test_a_concrete_job_does_not_replace_one_run_as_defined() -> None:
    text = JOBS + """\
  one:
    jobs: [build]
  two:
    jobs:
      - build: {platform: macos}
"""
    out = expand(text)
    assert out["workflows"]["one"]["jobs"] == ["build"]
    assert out["workflows"]["two"]["jobs"] == ["build-1"]
    assert out["jobs"]["build"]["steps"] == [{"run": "echo linux"}]
    assert out["jobs"]["build-1"]["steps"] == [{"run": "echo macos"}]


def test_a_concrete_job_under_its_own_name_replaces_the_default_one() -> None:
    out = expand(workflow("- build: {platform: macos}"))
    assert out["workflows"]["main"]["jobs"] == ["build"]
    assert out["jobs"]["build"]["steps"] == [{"run": "echo macos"}]


def test_jobs_with_required_parameters_appear_only_when_invoked() -> None:
    text = """\
        version: 2.1
        jobs:
          needs-arg:
            parameters: {x: {type: string}}
            docker: [{image: alpine}]
            steps: [run: echo << parameters.x >>]
          standalone:
            docker: [{image: alpine}]
            steps: [checkout]
    """
    assert list(expand(text)["jobs"]) == ["standalone"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("- biuld",
         "config.yml:15:9: workflows.main.jobs[0].biuld: job 'biuld' is not defined under 'jobs' "
         "(did you mean 'build'?)"),
        ("- node/test",
         "config.yml:15:9: workflows.main.jobs[0].node/test: job 'node/test' names no orb: there "
         "is no orb 'node' under 'orbs'"),
        ("- build: {matrix: {parameters: {version: '1.0'}}}",
         "config.yml:15:48: workflows.main.jobs[0].build.matrix.parameters.version: expected a "
         "non-empty list of values, found a string"),
        ("- build: {matrix: {parameters: {version: [a]}, exclude: [{versoin: a}]}}",
         "config.yml:15:65: workflows.main.jobs[0].build.matrix.exclude[0].versoin: 'versoin' is "
         "not a parameter of this matrix (did you mean 'version'?)"),
        ("- build: {matrix: {params: {version: [a]}}}",
         "config.yml:15:26: workflows.main.jobs[0].build.matrix.params: unknown matrix key "
         "'params' (did you mean 'parameters'?)"),
        ("- build: {matrix: {parameters: {version: [a]}}, name: b-<< matrix.os >>}",
         "config.yml:15:61: workflows.main.jobs[0].build.name: the matrix has no parameter 'os'"),
    ],
)
def test_entry_errors(entries: str, message: str) -> None:
    assert error(workflow(entries)) == message


def test_approval_entries_pass_through() -> None:
    out = expand(workflow("""\
        - hold: {type: approval}
        - deploy: {requires: [hold]}
    """))
    assert out["workflows"]["main"]["jobs"] == [
        {"hold": {"type": "approval"}}, {"deploy": {"requires": ["hold"]}},
    ]


def test_matrix_of_an_orb_job_and_requires_map_form() -> None:
    text = """\
        version: 2.1
        orbs:
          tools:
            jobs:
              lint:
                parameters: {level: {type: integer, default: 1}}
                docker: [{image: alpine}]
                steps: [run: lint -l << parameters.level >>]
        workflows:
          main:
            jobs:
              - tools/lint:
                  matrix: {parameters: {level: [1, 2]}}
              - tools/lint:
                  name: final
                  requires: [{tools/lint: [success, failed]}]
    """
    out = expand(text)
    assert out["workflows"]["main"]["jobs"] == [
        "tools/lint-1", "tools/lint-2",
        {"final": {"requires": [{"tools/lint-1": ["success", "failed"],
                                 "tools/lint-2": ["success", "failed"]}]}},
    ]
    assert out["jobs"] == {
        "tools/lint-1": {"docker": [{"image": "alpine"}], "steps": [{"run": "lint -l 1"}]},
        "tools/lint-2": {"docker": [{"image": "alpine"}], "steps": [{"run": "lint -l 2"}]},
        "final": {"docker": [{"image": "alpine"}], "steps": [{"run": "lint -l 1"}]},
    }
