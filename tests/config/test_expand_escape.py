"""The 2.1 escape ``\\<<`` and stray ``<<`` (issue 15 item 2).

``circleci orb pack`` writes every ``<<`` of an included script as ``\\<<``, so packed orbs hold
here-strings and here-documents written that way; CircleCI turns ``\\<<`` into ``<<`` and refuses a
``<<`` that opens no parameter expression: "Unclosed '<<' tag ('<<' must be escaped as '\\<<' in
config v2.1+)".
"""

from __future__ import annotations

from pathlib import Path

from tests.config.expand_support import error, expand
from tests.support import make_project, run_cli

# An inline orb shaped like a packed one: a command with an included script that calls another
# command of the orb, and a job of the orb that uses both.
ORB_CONFIG = r"""
version: 2.1
orbs:
  notify:
    commands:
      parse:
        parameters:
          list: {type: string, default: "a,b"}
        steps:
          - run:
              name: Parse
              environment:
                LIST: << parameters.list >>
              command: |
                IFS=',' read -ra ITEMS \<<< "$LIST"
                cat \<<EOF > /tmp/notify.txt
                first ${ITEMS[0]}
                EOF
      send:
        parameters:
          channel: {type: string}
        steps:
          - parse
          - run: echo '\<< parameters.channel >>' is sent to << parameters.channel >>
    jobs:
      notify:
        parameters:
          channel: {type: string, default: general}
        machine: true
        steps:
          - send: {channel: << parameters.channel >>}
workflows:
  main:
    jobs:
      - notify/notify: {channel: builds}
"""


def test_escaped_double_angle_is_a_literal_in_orb_commands() -> None:
    steps = expand(ORB_CONFIG)["jobs"]["notify/notify"]["steps"]
    assert steps[0]["run"]["command"] == (
        "IFS=',' read -ra ITEMS <<< \"$LIST\"\ncat <<EOF > /tmp/notify.txt\nfirst ${ITEMS[0]}\nEOF\n"
    )
    assert steps[1] == {"run": "echo '<< parameters.channel >>' is sent to builds"}


def test_escaped_text_is_not_scanned_again_through_arguments() -> None:
    text = r"""
        version: 2.1
        commands:
          say:
            parameters:
              what: {type: string}
            steps: [run: echo << parameters.what >>]
        jobs:
          build:
            machine: true
            steps:
              - say: {what: '\<< parameters.what >> and \<<< x'}
    """
    assert expand(text)["jobs"]["build"]["steps"] == [
        {"run": "echo << parameters.what >> and <<< x"}
    ]


def test_unescaped_here_document_is_refused_as_circleci_refuses_it() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            machine: true
            steps:
              - run: |
                  python - <<'PY'
                  print("hi")
                  PY
    """
    assert error(text) == (
        "config.yml:6:14: jobs.build.steps[0].run: Unclosed '<<' tag: <<'PY' "
        "('<<' must be escaped as '\\<<' in config v2.1+)"
    )


def test_a_tag_that_is_not_a_parameter_expression_is_refused() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            machine: true
            steps:
              - run: echo << foo.bar >>
    """
    message = error(text)
    assert message.startswith("config.yml:6:14: jobs.build.steps[0].run: '<<' does not open a "
                              "parameter expression: << foo.bar >>")
    assert "must be escaped as '\\<<'" in message


def test_here_string_runs(tmp_path: Path) -> None:
    config = r"""
        version: 2.1
        jobs:
          build:
            machine: true
            steps:
              - run: |
                  read -r v \<<< hello
                  echo "got $v"
                  echo '\<< parameters.p >>'
    """
    project = make_project(tmp_path / "p", config)
    result = run_cli(["run"], project)
    assert result.code == 0, result.stdout + result.stderr
    assert "build │ got hello" in result.stdout
    assert "build │ << parameters.p >>" in result.stdout
