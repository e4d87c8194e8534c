"""2.1 parameters: declarations, types, arguments, defaults, pipeline parameters and --param."""

from __future__ import annotations

import pytest

from tests.config.expand_support import error, expand


def command_config(param: str, value: str) -> str:
    """A job calling command ``c`` (declaring ``param``) with ``value`` as the argument."""
    return f"""\
version: 2.1
commands:
  c:
    parameters:
      x: {param}
    steps:
      - run: echo << parameters.x >>
jobs:
  build:
    docker: [{{image: alpine}}]
    steps:
      - c:
          x: {value}
"""


# ---------------------------------------------------------------- argument values by type

@pytest.mark.parametrize(
    ("param", "value", "command"),
    [
        ("{type: string}", "hello", "echo hello"),
        ("{type: string}", "3.10", "echo 3.10"),  # a number keeps its written text
        ("{type: string}", "'true'", "echo true"),
        ("{type: boolean}", "true", "echo true"),
        ("{type: boolean}", "yes", "echo true"),  # YAML 1.1 words [RC "Boolean"]
        ("{type: boolean}", "Off", "echo false"),
        ("{type: boolean}", "N", "echo false"),
        ("{type: integer}", "7", "echo 7"),
        ("{type: integer}", "'8'", "echo 8"),
        ("{type: enum, enum: [linux, darwin]}", "darwin", "echo darwin"),
        ("{type: enum, enum: ['1.0', '2.0']}", "2.0", "echo 2.0"),
        ("{type: env_var_name}", "AWS_KEY", "echo AWS_KEY"),
    ],
)
def test_argument_values_by_type(param: str, value: str, command: str) -> None:
    out = expand(command_config(param, value))
    assert out["jobs"]["build"]["steps"] == [{"run": command}]


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("{type: boolean}", "maybe",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value 'maybe' for boolean "
         "parameter 'x' (use true or false (yes/no and on/off work too))"),
        ("{type: integer}", "1.5",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value '1.5' for integer "
         "parameter 'x' (use a whole number)"),
        ("{type: integer}", "true",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value 'true' for integer "
         "parameter 'x' (use a whole number)"),
        ("{type: string}", "true",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value 'true' for string "
         "parameter 'x' (quote it: \"true\")"),
        ("{type: enum, enum: [linux, darwin]}", "darwn",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value 'darwn' for enum "
         "parameter 'x' (did you mean 'darwin'?)"),
        ("{type: enum, enum: [linux, darwin]}", "win32",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value 'win32' for enum "
         "parameter 'x' (one of: linux, darwin)"),
        ("{type: env_var_name}", "'MY VAR'",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value 'MY VAR' for env_var_name "
         "parameter 'x' (an environment variable name: letters, digits and '_', not starting "
         "with a digit)"),
        ("{type: string}", "[a, b]",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value a list for string "
         "parameter 'x'"),
        ("{type: steps}", "{run: ls}",
         "config.yml:13:14: jobs.build.steps[0].c.x: invalid value a map for steps parameter "
         "'x' (steps are always a list, even of one step)"),
    ],
)
def test_argument_type_errors(param: str, value: str, message: str) -> None:
    assert error(command_config(param, value)) == message


def test_unknown_and_missing_arguments_are_reported_together() -> None:
    text = """\
        version: 2.1
        commands:
          greet:
            parameters:
              to: {type: string}
              greeting: {type: string, default: hi}
            steps:
              - run: echo << parameters.greeting >> << parameters.to >>
        jobs:
          build:
            docker: [{image: alpine}]
            steps:
              - greet:
                  greting: hello
    """
    assert error(text) == (
        "config.yml:13:9: jobs.build.steps[0].greet: missing required argument 'to' of command "
        "'greet' (pass 'to: ...' (string))\n"
        "config.yml:14:11: jobs.build.steps[0].greet.greting: command 'greet' has no parameter "
        "'greting' (did you mean 'greeting'?)"
    )


def test_a_command_without_parameters_lists_none() -> None:
    text = """\
        version: 2.1
        commands:
          hi:
            steps: [run: echo hi]
        jobs:
          build:
            docker: [{image: alpine}]
            steps:
              - hi: {loud: true}
    """
    assert error(text) == (
        "config.yml:9:14: jobs.build.steps[0].hi.loud: command 'hi' has no parameter 'loud' "
        "(it declares no parameters)"
    )


# ---------------------------------------------------------------- declarations

@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("x: {type: strng}",
         "config.yml:5:17: commands.c.parameters.x.type: invalid parameter type 'strng' "
         "(did you mean 'string'?)"),
        ("x: {default: 1}",
         "config.yml:5:10: commands.c.parameters.x: missing required key 'type' (one of: "
         "string, boolean, integer, enum, executor, steps, env_var_name)"),
        ("x: {type: enum, enum: [a, b], default: c}",
         "config.yml:5:46: commands.c.parameters.x.default: invalid value 'c' for enum "
         "parameter 'x' (one of: a, b)"),
        ("x: {type: enum}",
         "config.yml:5:10: commands.c.parameters.x.enum: an enum parameter needs a non-empty "
         "'enum' list"),
        ("x: {type: boolean, default: sometimes}",
         "config.yml:5:35: commands.c.parameters.x.default: invalid value 'sometimes' for "
         "boolean parameter 'x' (use true or false (yes/no and on/off work too))"),
        ("x: {type: string, defualt: a}",
         "config.yml:5:25: commands.c.parameters.x.defualt: unknown parameter key 'defualt' "
         "(did you mean 'default'?)"),
        ("1x: {type: string}",
         "config.yml:5:7: commands.c.parameters.1x: invalid parameter name '1x' (start with a "
         "letter; use letters, digits, '_' and '-')"),
        ("x: string",
         "config.yml:5:10: commands.c.parameters.x: expected a map with 'type', found a string"),
    ],
)
def test_declaration_errors(declaration: str, message: str) -> None:
    text = f"""\
version: 2.1
commands:
  c:
    parameters:
      {declaration}
    steps: [run: echo]
jobs:
  build:
    docker: [{{image: alpine}}]
    steps: [c]
"""
    assert error(text) == message


def test_upper_case_parameter_names_are_accepted() -> None:
    # [RC] asks for lower case, but CircleCI runs configs declaring ``PYTEST_LOGLEVEL``
    text = """\
        version: 2.1
        jobs:
          build:
            parameters:
              LogLevel: {type: string, default: debug}
            docker: [{image: alpine}]
            steps: [run: echo << parameters.LogLevel >>]
    """
    assert expand(text)["jobs"]["build"]["steps"] == [{"run": "echo debug"}]


@pytest.mark.parametrize("name", ["name", "requires", "context", "type", "filters", "matrix",
                                  "pre-steps", "post-steps"])
def test_reserved_job_parameter_names(name: str) -> None:
    text = f"""\
version: 2.1
jobs:
  build:
    parameters:
      {name}: {{type: string, default: x}}
    docker: [{{image: alpine}}]
    steps: [checkout]
"""
    assert error(text) == (
        f"config.yml:5:7: jobs.build.parameters.{name}: '{name}' is reserved for workflow job "
        "entries (give the parameter another name)"
    )


def test_reserved_names_are_fine_for_commands() -> None:
    text = """\
        version: 2.1
        commands:
          c:
            parameters:
              name: {type: string, default: x}
            steps: [run: echo << parameters.name >>]
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [c]
    """
    assert expand(text)["jobs"]["build"]["steps"] == [{"run": "echo x"}]


# ---------------------------------------------------------------- pipeline parameters

PIPELINE = """\
version: 2.1
parameters:
  deploy:
    type: boolean
    default: false
  image:
    type: string
    default: alpine
  workers:
    type: integer
    default: 2
  env:
    type: enum
    enum: [staging, production]
    default: staging
jobs:
  build:
    docker: [{image: << pipeline.parameters.image >>}]
    parallelism: << pipeline.parameters.workers >>
    steps:
      - run: echo << pipeline.parameters.env >> << pipeline.parameters.deploy >>
"""


def test_pipeline_parameter_defaults() -> None:
    job = expand(PIPELINE)["jobs"]["build"]
    assert job == {
        "docker": [{"image": "alpine"}],
        "parallelism": 2,
        "steps": [{"run": "echo staging false"}],
    }


def test_pipeline_parameters_from_the_command_line_are_typed() -> None:
    given = {"deploy": "YES", "image": "debian", "workers": "4", "env": "production"}
    job = expand(PIPELINE, pipeline_parameters=given)["jobs"]["build"]
    assert job == {
        "docker": [{"image": "debian"}],
        "parallelism": 4,
        "steps": [{"run": "echo production true"}],
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"deploi": "true"},
         "config.yml:2:1: parameters: --param deploi=true: the config declares no pipeline "
         "parameter 'deploi' (did you mean 'deploy'?)"),
        ({"colour": "red"},
         "config.yml:2:1: parameters: --param colour=red: the config declares no pipeline "
         "parameter 'colour' (declared: deploy, image, workers, env)"),
        ({"deploy": "maybe"},
         "config.yml:4:5: parameters.deploy: --param deploy=maybe: not a boolean (use true or "
         "false)"),
        ({"workers": "two"},
         "config.yml:10:5: parameters.workers: --param workers=two: not an integer (use a whole "
         "number)"),
        ({"env": "prod"},
         "config.yml:13:5: parameters.env: --param env=prod: not one of the enum's values "
         "(one of: staging, production)"),
    ],
)
def test_command_line_parameter_errors(given: dict[str, str], message: str) -> None:
    assert error(PIPELINE, pipeline_parameters=given) == message


def test_param_given_to_a_config_without_parameters() -> None:
    text = """\
        version: 2.1
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [checkout]
    """
    assert error(text, pipeline_parameters={"x": "1"}) == (
        "--param x=1: the config declares no pipeline parameter 'x' (its 'parameters:' is empty)"
    )


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("x: {type: string}",
         "config.yml:3:6: parameters.x: a pipeline parameter needs a default (add 'default:')"),
        ("x: {type: steps, default: []}",
         "config.yml:3:13: parameters.x.type: invalid parameter type 'steps' (one of: string, "
         "boolean, integer, enum)"),
    ],
)
def test_pipeline_parameter_declarations(declaration: str, message: str) -> None:
    text = f"""\
version: 2.1
parameters:
  {declaration}
jobs:
  build:
    docker: [{{image: alpine}}]
    steps: [checkout]
"""
    assert error(text) == message


# ---------------------------------------------------------------- job parameters

def test_job_parameters_from_a_workflow_and_required_ones() -> None:
    text = """\
        version: 2.1
        jobs:
          test:
            parameters:
              python: {type: string}
            docker: [{image: "cimg/python:<< parameters.python >>"}]
            steps: [checkout]
        workflows:
          main:
            jobs:
              - test: {python: "3.12"}
              - test
    """
    assert error(text) == (
        "config.yml:12:9: workflows.main.jobs[1].test: missing required argument 'python' of "
        "job 'test' (pass 'python: ...' (string))"
    )


def test_job_argument_unknown_in_a_workflow() -> None:
    text = """\
        version: 2.1
        jobs:
          test:
            docker: [{image: alpine}]
            steps: [checkout]
        workflows:
          main:
            jobs:
              - test: {requires: [], pyhton: "3"}
    """
    assert error(text) == (
        "config.yml:9:30: workflows.main.jobs[0].test.pyhton: job 'test' has no parameter "
        "'pyhton' (it declares no parameters)"
    )


def test_a_default_may_use_pipeline_values() -> None:
    text = """\
        version: 2.1
        parameters:
          fast: {type: boolean, default: true}
        commands:
          c:
            parameters:
              branch: {type: string, default: << pipeline.git.branch >>}
              quick: {type: boolean, default: << pipeline.parameters.fast >>}
            steps: [run: echo << parameters.branch >> << parameters.quick >>]
        jobs:
          build:
            docker: [{image: alpine}]
            steps: [c]
    """
    out = expand(text, pipeline_values={"pipeline.git.branch": "main"})
    assert out["jobs"]["build"]["steps"] == [{"run": "echo main true"}]
