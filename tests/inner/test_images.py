"""``--image FROM=TO`` (issue 18, item 1): rules, the plan, the job header, real containers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.config.substitute import parse_rules, substitute_image
from runner.errors import UsageError
from tests.support import make_project, run_cli

CONFIG = """
version: 2.1
jobs:
  build:
    docker:
      - image: cimg/python:3.12
      - image: redis:7
        name: cache
    steps:
      - run: cat /etc/os-release | head -1; nc -z localhost 1 || echo primary ran
  lint:
    docker:
      - image: cimg/python:3.11-node
    steps:
      - run: echo lint
"""


@pytest.mark.parametrize(
    ("rules", "image", "expected"),
    [
        (["cimg/python:3.12=python:3.12"], "cimg/python:3.12", "python:3.12"),
        (["cimg/python:3.12=python:3.12"], "cimg/python:3.11", None),
        (["cimg/python:*=python:*"], "cimg/python:3.11-node", "python:3.11-node"),
        (["cimg/python:*=debian:12"], "cimg/python:3.12", "debian:12"),
        (["cimg/*=a", "cimg/python:*=b"], "cimg/python:3.12", "a"),  # the first match wins
        (["redis:7=r"], "redis:7.2", None),  # without a star, only the exact name
    ],
)
def test_rules(rules: list[str], image: str, expected: str | None) -> None:
    assert substitute_image(image, parse_rules(rules)) == expected


@pytest.mark.parametrize("bad", ["no-equals", "=x", "x=", "*=x", "a*b=c", "a=b*", "a*=b*c"])
def test_bad_rules_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="--image"):
        parse_rules([bad])


def test_plan_shows_the_substitution(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    args = ["plan", "build", "lint", "--image", "cimg/python:*=python:*",
            "--image", "redis:7=valkey:8"]
    text = run_cli(args, project).stdout
    assert "  build: docker (python:3.12 + 1 service(s)), 1 node(s)" in text
    assert "    image python:3.12 (for cimg/python:3.12) (--image)" in text
    assert "    image valkey:8 (for redis:7) (--image)" in text
    assert "    image python:3.11-node (for cimg/python:3.11-node) (--image)" in text
    data = json.loads(run_cli([*args, "--json"], project).stdout)
    build = next(j for j in data["jobs"] if j["id"] == "build")
    assert build["images"] == [
        {"image": "python:3.12", "for": "cimg/python:3.12"},
        {"image": "valkey:8", "for": "redis:7"},
    ]
    unchanged = json.loads(run_cli(["plan", "--json"], project).stdout)["jobs"][0]["images"]
    assert unchanged[0] == {"image": "cimg/python:3.12", "for": None}


def test_a_bad_rule_exits_2_before_anything(tmp_path: Path) -> None:
    result = run_cli(["run", "--image", "cimg*x=y"], make_project(tmp_path / "p", CONFIG))
    assert result.code == 2
    assert "--image 'cimg*x=y'" in result.stderr and "Traceback" not in result.stderr
