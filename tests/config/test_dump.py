"""The processed config as YAML, like ``circleci config process``."""

from __future__ import annotations

from textwrap import dedent
from typing import Any

import yaml

from runner.config.dump import dump_processed
from runner.config.expand import expand_config
from runner.config.load import LoadOptions
from runner.config.yaml import MDict, parse_text


def processed(text: str) -> MDict:
    root = parse_text(dedent(text), "config.yml")
    return expand_config(root, file="config.yml", options=LoadOptions())


def plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


CONFIG = """\
version: 2.1
defaults: &image
  - image: cimg/python:3.10
executors:
  py:
    docker: *image
    environment:
      FLAG: "on"
      VERSION: "1.0"
jobs:
  test:
    parameters:
      n: {type: integer, default: 2}
    executor: py
    parallelism: << parameters.n >>
    steps:
      - checkout
      - run:
          name: Run tests
          command: |
            pip install .
            pytest -q
  lint:
    docker: *image
    resource_class: 2xlarge+
    steps:
      - run: "ruff check: all"
workflows:
  main:
    jobs:
      - test
      - lint:
          requires: [test]
"""

EXPECTED = """\
version: 2
jobs:
  test:
    docker:
    - image: cimg/python:3.10
    environment:
      FLAG: 'on'
      VERSION: '1.0'
    parallelism: 2
    steps:
    - checkout
    - run:
        name: Run tests
        command: |
          pip install .
          pytest -q
  lint:
    docker:
    - image: cimg/python:3.10
    resource_class: 2xlarge+
    steps:
    - run: 'ruff check: all'
workflows:
  version: 2
  main:
    jobs:
    - test
    - lint:
        requires:
        - test
"""


def test_dump_is_readable_block_yaml() -> None:
    assert dump_processed(processed(CONFIG)) == EXPECTED


def test_dump_reads_back_as_the_same_tree() -> None:
    tree = processed(CONFIG)
    assert yaml.safe_load(dump_processed(tree)) == plain(tree)


def test_numbers_keep_their_written_text() -> None:
    tree = processed("""\
        version: 2.1
        jobs:
          mac:
            macos: {xcode: 12.10}
            steps: [checkout]
    """)
    assert "    xcode: 12.10\n" in dump_processed(tree)
