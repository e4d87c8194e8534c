"""Dynamic config (issue 15 item 5): a setup workflow continues the same run, offline.

The configs are shaped like CircleCI's dynamic-config docs: a ``setup: true`` file whose
workflow runs ``continuation/continue`` (runner's own circleci/continuation, whatever version is
named) or the ``filter`` job of a path-filtering orb. That orb is a fixture of these tests, written
for them: same job, command and parameter names as circleci/path-filtering, its own script.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner.continuation import ContinuationRefused, ContinuationRequest, Inbox, parse_body
from runner.events import JobFinished, JobStarted, RunStarted
from tests.support import Collected, make_project, run_cli, run_in_process

CONTINUED = """
version: 2.1
parameters:
  run-tests: {type: boolean, default: false}
  target: {type: string, default: dev}
jobs:
  test:
    machine: true
    steps:
      - run: echo "testing for << pipeline.parameters.target >> key=[${CIRCLE_CONTINUATION_KEY}]"
  deploy:
    machine: true
    steps:
      - run: echo deploying
workflows:
  tests:
    when: << pipeline.parameters.run-tests >>
    jobs:
      - test
      - deploy: {requires: [test]}
  never:
    unless: << pipeline.parameters.run-tests >>
    jobs: [deploy]
"""


def setup_config(orb_version: str, arguments: str, executor: str = "machine: true") -> str:
    return f"""
version: 2.1
setup: true
orbs:
  continuation: circleci/continuation@{orb_version}
executors:
  here:
    {executor}
jobs:
  show-key:
    executor: here
    steps:
      - run: echo "key=[$CIRCLE_CONTINUATION_KEY] length=${{#CIRCLE_CONTINUATION_KEY}}"
workflows:
  setup:
    jobs:
      - show-key
      - continuation/continue:
          requires: [show-key]
          executor: here
          configuration_path: .circleci/continue_config.yml
{arguments}
"""


def finished(collected: Collected) -> list[tuple[str, str]]:
    return [(e.job, e.status.value) for e in collected.events if isinstance(e, JobFinished)]


@pytest.mark.parametrize(
    ("version", "arguments"),
    [
        # old versions post to the fixed https://circleci.com/api/v2/pipeline/continue
        ("0.1.2", "          parameters: '{\"run-tests\": true, \"target\": \"prod\"}'"),
        # newer ones take circleci_domain (CircleCI server): never contacted either
        ("1.1.0", "          parameters: '{\"run-tests\": true, \"target\": \"prod\"}'\n"
                  "          circleci_domain: circleci.example.com"),
    ],
)
def test_the_continuation_runs_in_the_same_run(tmp_path: Path, version: str, arguments: str) -> None:
    project = make_project(tmp_path / "p", setup_config(version, arguments),
                           {".circleci/continue_config.yml": CONTINUED})
    collected = run_in_process(project)
    assert collected.result is not None and collected.result.exit_code == 0
    assert finished(collected) == [
        ("show-key", "passed"), ("continuation/continue", "passed"),
        ("test", "passed"), ("deploy", "passed"),
    ]
    assert len([e for e in collected.events if isinstance(e, RunStarted)]) == 1
    # the setup jobs have the key (masked: it is a secret); the continued ones do not
    assert "key=[********] length=48" in collected.output("show-key")
    assert collected.output("test") == ["testing for prod key=[]"]
    builds = [e.build_num for e in collected.events if isinstance(e, JobStarted)]
    assert len(set(builds)) == 4
    stored = collected.result.run_dir / "continuation" / "config.yml"
    assert stored.read_text() == (project / ".circleci/continue_config.yml").read_text()


def test_finish_ends_the_pipeline_and_a_failed_setup_does_not_continue(tmp_path: Path) -> None:
    config = setup_config("1.1.0", "").replace(
        "      - continuation/continue:", "      - finish:\n          requires: [show-key]\n"
        "      - continuation/continue:").replace(
        "jobs:\n  show-key:", "jobs:\n  finish:\n    executor: here\n"
        "    steps: [continuation/finish]\n  show-key:")
    config = config.replace("requires: [show-key]\n          executor", "requires: [finish]\n"
                            "          executor")
    project = make_project(tmp_path / "p", config, {".circleci/continue_config.yml": CONTINUED})
    collected = run_in_process(project)
    # finish continued with an empty config, so the later continue is a second continuation
    assert finished(collected)[-1][1] == "failed"
    assert "this pipeline was already continued" in str(collected.events[-2:])
    assert collected.result is not None and collected.result.exit_code == 1


def test_a_wrong_key_or_bad_parameters_are_refused_with_their_place(tmp_path: Path) -> None:
    forged = """
version: 2.1
setup: true
jobs:
  forge:
    machine: true
    steps:
      - checkout
      - run: |
          mkdir -p ~/c && cp .circleci/continue_config.yml ~/c/configuration.yml
          echo '{}' > ~/c/parameters.json && printf 'guessed' > ~/c/continuation-key
      - store_artifacts: {path: ~/c, destination: circleci-continuation}
workflows:
  setup:
    jobs: [forge]
"""
    project = make_project(tmp_path / "p", forged, {".circleci/continue_config.yml": CONTINUED})
    result = run_cli(["run"], project)
    assert result.code == 1
    assert "the continuation was refused: the continuation key is not this pipeline's" in (
        result.stdout)
    assert "deploying" not in result.stdout

    bad = setup_config("1.1.0", "          parameters: '{\"run-tests\": \"yes please\"}'")
    project = make_project(tmp_path / "q", bad, {".circleci/continue_config.yml": CONTINUED})
    result = run_cli(["run"], project)
    assert result.code == 1
    assert "continuation/config.yml:4:14: parameters.run-tests:" in result.stdout
    assert "not a boolean" in result.stdout


# A path-filtering orb of these tests: same names as circleci/path-filtering (job `filter`,
# commands `set-parameters` and `generate-config`, the continuation orb imported as
# `continuation`), a script of its own.
PATH_FILTERING = r"""
version: 2.1
orbs:
  continuation: circleci/continuation@1.0.0
commands:
  set-parameters:
    parameters:
      base-revision: {type: string, default: main}
      mapping: {type: string, default: ""}
      output-path: {type: string, default: /tmp/pipeline-parameters.json}
      config-path: {type: string, default: .circleci/continue_config.yml}
    steps:
      - run:
          name: Set parameters
          environment:
            BASE_REVISION: << parameters.base-revision >>
            MAPPING: << parameters.mapping >>
            OUTPUT_PATH: << parameters.output-path >>
          command: |
            git diff --name-only "$BASE_REVISION"...HEAD > ~/changed
            sep=""
            printf '{' > "$OUTPUT_PATH"
            while read -r pattern param value; do
              [ -n "$pattern" ] || continue
              if grep -Eq "^${pattern}$" ~/changed; then
                printf '%s"%s": %s' "$sep" "$param" "$value" >> "$OUTPUT_PATH"
                sep=", "
              fi
            done \<<EOF
            $MAPPING
            EOF
            printf '}' >> "$OUTPUT_PATH"
            cat "$OUTPUT_PATH"
  generate-config:
    parameters:
      config-path: {type: string, default: .circleci/continue_config.yml}
      generated-config-path: {type: string, default: /tmp/generated-config.yml}
    steps:
      - run: cp << parameters.config-path >> << parameters.generated-config-path >>
jobs:
  filter:
    parameters:
      base-revision: {type: string, default: main}
      mapping: {type: string, default: ""}
      config-path: {type: string, default: .circleci/continue_config.yml}
      circleci_domain: {type: string, default: circleci.com}
      output-path: {type: string, default: /tmp/pipeline-parameters.json}
      executor: {type: executor}
    executor: << parameters.executor >>
    steps:
      - checkout
      - set-parameters:
          base-revision: << parameters.base-revision >>
          mapping: << parameters.mapping >>
          output-path: << parameters.output-path >>
      - generate-config:
          config-path: << parameters.config-path >>
          generated-config-path: generated-config.yml
      - continuation/continue:
          configuration_path: generated-config.yml
          parameters: << parameters.output-path >>
          circleci_domain: << parameters.circleci_domain >>
"""

MONOREPO = """
version: 2.1
setup: true
orbs:
  path-filtering: circleci/path-filtering@1.0.0
executors:
  here:
    machine: true
workflows:
  setup:
    jobs:
      - path-filtering/filter:
          executor: here
          base-revision: main
          output-path: pipeline-parameters.json
          mapping: |
            api/.* build-api true
            web/.* build-web true
"""

MONOREPO_CONTINUED = """
version: 2.1
orbs:
  greet: {commands: {hello: {parameters: {who: {type: string}}, steps: [run: echo hello << parameters.who >>]}}}
parameters:
  build-api: {type: boolean, default: false}
  build-web: {type: boolean, default: false}
jobs:
  api:
    machine: true
    steps: [greet/hello: {who: api}]
  web:
    machine: true
    steps: [greet/hello: {who: web}]
workflows:
  api:
    when: << pipeline.parameters.build-api >>
    jobs: [api]
  web:
    when: << pipeline.parameters.build-web >>
    jobs: [web]
"""


def test_path_filtering_continues_with_the_workflows_of_what_changed(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", MONOREPO, {
        ".circleci/continue_config.yml": MONOREPO_CONTINUED,
        ".circleci/orbs/circleci/path-filtering@1.0.0.yml": PATH_FILTERING,
        "api/main.py": "print('v1')\n", "web/index.html": "<p>v1</p>\n",
    })
    git = ["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "checkout", "-q", "-b", "feature"], check=True)
    (project / "api" / "main.py").write_text("print('v2')\n")
    subprocess.run([*git, "commit", "-qam", "change the api"], check=True)
    result = run_cli(["run"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert '{"build-api": true}' in result.stdout
    assert "api │ hello api" in result.stdout
    assert "hello web" not in result.stdout


def test_request_bodies_and_the_inbox() -> None:
    body = {"continuation-key": "k" * 8, "configuration": "version: 2.1", "parameters": {"a": 1}}
    request = parse_body(body)
    assert request == ContinuationRequest("k" * 8, "version: 2.1", {"a": 1})
    for bad in ([], {"configuration": "x"}, {**body, "parameters": "a=1"}):
        with pytest.raises(ContinuationRefused):
            parse_body(bad)
    inbox = Inbox("k" * 8)
    with pytest.raises(ContinuationRefused, match="not this pipeline's"):
        inbox.receive(ContinuationRequest("other", "", {}))
    inbox.receive(request)
    with pytest.raises(ContinuationRefused, match="already continued"):
        inbox.receive(request)
    assert inbox.request == request
