"""The config model's records: where a part was written is not part of what it is."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from runner.config import model as m
from runner.errors import ConfigProblem, Mark

HERE, THERE = Mark("a.yml", 3, 5), Mark("orb.yml", 40, 9)


def test_parts_written_in_two_places_are_equal_and_hash_alike() -> None:
    one = m.RunStep(name="test", command="make test", mark=HERE)
    other = m.RunStep(name="test", command="make test", mark=THERE)
    assert one == other
    here, there = m.CheckoutStep(name="checkout", mark=HERE), m.CheckoutStep(name="checkout")
    assert here == there and hash(here) == hash(there)
    assert one != replace(other, command="make lint")
    assert one != m.RunStep(name="test", command="make test", when=m.When.ALWAYS, mark=HERE)
    # another kind with the same fields is another thing
    assert m.Step(name="test", mark=HERE) != m.CheckoutStep(name="test", mark=HERE)


def test_a_config_compares_without_its_warnings() -> None:
    job = m.Job(name="build", executor=m.MachineExecutor(), steps=(), mark=HERE)
    warned = m.Config(version="2.1", jobs=m.frozen_map({"build": job}),
                      warnings=(ConfigProblem(HERE, "jobs", "a warning"),))  # fmt: skip
    plain = m.Config(version="2.1", jobs=m.frozen_map({"build": replace(job, mark=THERE)}))
    assert warned == plain
    assert warned != replace(plain, version="2")


def test_records_are_frozen() -> None:
    step = m.RunStep(name="test", command="make test")
    with pytest.raises(AttributeError):
        step.command = "rm -rf /"  # type: ignore[misc]
