"""``<< >>`` interpolation: typed values, text, scopes, pipeline values and located errors."""

from __future__ import annotations

import pytest

from runner.config.pipeline import LOCAL_PIPELINE_ID, pipeline_values, project_type
from tests.config.expand_support import error, expand

JOB = """\
version: 2.1
jobs:
  build:
    parameters:
      n: {type: integer, default: 3}
      on: {type: boolean, default: true}
      tag: {type: string, default: "3.10"}
      var: {type: env_var_name, default: TOKEN}
    docker: [{image: "cimg/python:<< parameters.tag >>"}]
    parallelism: << parameters.n >>
    steps:
      - run:
          name: <<parameters.tag>>
          command: echo << parameters.on >> ${<< parameters.var >>} <<  parameters.n  >>
          background: << parameters.on >>
      - run: |
          cat \\<<EOF > out.txt
          tag << parameters.tag >>
          EOF
          grep x \\<<< "<< parameters.tag >>"
"""


def test_whole_values_are_typed_and_text_is_formatted() -> None:
    assert expand(JOB)["jobs"]["build"] == {
        "docker": [{"image": "cimg/python:3.10"}],
        "parallelism": 3,
        "steps": [
            {"run": {"name": "3.10", "command": "echo true ${TOKEN} 3", "background": True}},
            {"run": "cat <<EOF > out.txt\ntag 3.10\nEOF\ngrep x <<< \"3.10\"\n"},
        ],
    }


def test_values_are_not_scanned_twice() -> None:
    text = """\
        version: 2.1
        commands:
          say:
            parameters:
              what: {type: string}
            steps: [run: echo << parameters.what >>]
        jobs:
          build:
            docker: [{image: alpine}]
            steps:
              - say: {what: "'<< parameters.what >>'"}
    """
    # the argument is interpolated where it is written: the job has no parameter 'what'
    assert error(text) == (
        "config.yml:11:21: jobs.build.steps[0].say.what: job 'build' has no parameter 'what' "
        "(declare it under 'parameters:')"
    )


def test_parameters_are_not_inherited_by_callees() -> None:
    text = """\
        version: 2.1
        commands:
          say:
            steps: [run: echo << parameters.word >>]
        jobs:
          build:
            parameters:
              word: {type: string, default: hi}
            docker: [{image: alpine}]
            steps: [say]
    """
    assert error(text) == (
        "config.yml:4:18: commands.say.steps[0].run: command 'say' has no parameter 'word' "
        "(declare it under 'parameters:')"
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("echo << parameters.step >>",
         "config.yml:7:18: jobs.build.steps[0].run: job 'build' has no parameter 'step' (did you "
         "mean 'steps'?)"),
        ("echo << pipeline.parameters.colour >>",
         "config.yml:7:18: jobs.build.steps[0].run: unknown pipeline parameter 'colour' (did you "
         "mean 'color'?)"),
        ("echo << pipeline.git.brnch >>",
         "config.yml:7:18: jobs.build.steps[0].run: unknown pipeline value 'pipeline.git.brnch' "
         "(did you mean 'pipeline.git.branch'?)"),
        ("echo << matrix.os >>",
         "config.yml:7:18: jobs.build.steps[0].run: '<< matrix.os >>' is only defined in a "
         "workflow job with a matrix"),
        ("echo << parameters.steps >>",
         "config.yml:7:18: jobs.build.steps[0].run: '<< parameters.steps >>' is steps and cannot "
         "be placed inside a string (use it as a whole value)"),
    ],
)
def test_unknown_references(command: str, message: str) -> None:
    text = f"""\
version: 2.1
parameters:
  color: {{type: string, default: red}}
jobs:
  build:
    parameters: {{n: {{type: integer, default: 1}}, steps: {{type: steps, default: []}}}}
    steps: [run: {command}]
    docker: [{{image: alpine}}]
"""
    assert error(text) == message


def test_job_parameters_are_not_visible_in_workflows() -> None:
    text = """\
        version: 2.1
        parameters:
          tag: {type: string, default: v1}
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [checkout]
        workflows:
          main:
            jobs:
              - build:
                  name: build-<< parameters.tag >>
    """
    assert error(text) == (
        "config.yml:12:17: workflows.main.jobs[0].build.name: '<< parameters.tag >>' is not "
        "defined here (did you mean '<< pipeline.parameters.tag >>'?)"
    )


def test_sections_keep_text_for_truthy_and_falsy_values() -> None:
    # CircleCI accepts mustache sections; a real config names matrix jobs with them
    text = """\
        version: 2.1
        jobs:
          build:
            parameters:
              all: {type: boolean, default: true}
              short: {type: boolean, default: true}
            docker: [{image: alpine}]
            steps:
              - run: ls <<# parameters.all >>-a<</ parameters.all >><<^ parameters.short >>
                  -l<</ parameters.short >>
    """
    assert expand(text)["jobs"]["build"]["steps"] == [{"run": "ls -a"}]


def test_keys_are_interpolated() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            parameters:
              var: {type: env_var_name, default: GREETING}
            docker: [{image: alpine}]
            environment:
              << parameters.var >>: hello
            steps: [checkout]
    """
    assert expand(text)["jobs"]["build"]["environment"] == {"GREETING": "hello"}


# ---------------------------------------------------------------- pipeline values

def test_pipeline_values_with_local_defaults() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            docker: [{image: alpine}]
            steps:
              - run: echo << pipeline.id >> << pipeline.number >> [<< pipeline.git.branch >>]
              - run: echo [<< pipeline.trigger_parameters.gitlab.branch >>]
              - run: echo << pipeline.trigger_source >>
    """
    assert expand(text)["jobs"]["build"]["steps"] == [
        {"run": f"echo {LOCAL_PIPELINE_ID} 1 []"},
        {"run": "echo []"},
        {"run": "echo webhook"},
    ]


def test_pipeline_values_given() -> None:
    values = pipeline_values(branch="main", tag="", revision="abc", number=42, pipeline_id="p-1",
                             git_url="git@github.com:acme/app.git")
    text = """\
        version: 2.1
        jobs:
          build:
            docker: [{image: alpine}]
            parallelism: << pipeline.number >>
            steps:
              - run: echo << pipeline.git.branch >> << pipeline.git.revision >>
                  << pipeline.project.type >>
    """
    job = expand(text, pipeline_values=values)["jobs"]["build"]
    assert job["parallelism"] == 42
    assert job["steps"] == [{"run": "echo main abc github"}]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://github.com/acme/app", "github"),
        ("git@github.com:acme/app.git", "github"),
        ("ssh://git@bitbucket.org/acme/app.git", "bitbucket"),
        ("https://gitlab.example.com/acme/app.git", "gitlab"),
        ("/srv/git/app.git", "local"),
        ("", "local"),
    ],
)
def test_project_type(url: str, kind: str) -> None:
    assert project_type(url) == kind


def test_tag_pipelines_have_no_branch() -> None:
    values = pipeline_values(branch="main", tag="v1.0", revision="r", git_url="", number=3,
                             pipeline_id="id", trigger_source="api")
    assert values == {
        "pipeline.id": "id",
        "pipeline.number": 3,
        "pipeline.project.git_url": "",
        "pipeline.project.type": "local",
        "pipeline.git.branch": "",
        "pipeline.git.tag": "v1.0",
        "pipeline.git.revision": "r",
        "pipeline.git.base_revision": "",
        "pipeline.trigger_source": "api",
        "pipeline.schedule.name": "",
        "pipeline.schedule.id": "",
    }
