"""The install a user gets: the lock matches pyproject's ranges, and only `serve` pays for the API stack."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support import make_project

ROOT = Path(__file__).resolve().parent.parent
API_STACK = ("fastapi", "uvicorn", "starlette", "pydantic")


def locked(lock: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^ \\\n]+)", lock.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins}


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(("lock", "extra"), [("requirements.txt", None), ("requirements-dev.txt", "dev")])
def test_the_lock_pins_a_version_of_every_range(lock: str, extra: str | None) -> None:
    """A change of pyproject.toml without a refreshed lock fails here (see README, Dependencies)."""
    pins = locked(ROOT / lock)
    for requirement in declared(extra):
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{lock} does not pin {requirement.name}: refresh the lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside pyproject's {requirement}: refresh the lock"
        )


def imported_by(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


@pytest.mark.parametrize("args", [["--help"], ["list"], ["run", "--help"], ["plan"]])
def test_commands_other_than_serve_do_not_import_the_api_stack(args: list[str], tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", "version: 2.1\njobs:\n  build:\n    machine: true\n    steps: [{run: echo hi}]\n"
    )
    modules = {line.split("|")[-1].strip() for line in imported_by(args, project).splitlines()}
    assert not [m for m in modules if m.split(".")[0] in API_STACK]
    assert "runner.cli" in modules  # the measurement itself works


def test_serve_has_its_stack_in_a_plain_install() -> None:
    """fastapi and uvicorn are ordinary dependencies: `runner serve` needs no extra."""
    names = {re.sub(r"[-_.]+", "-", r.name).lower() for r in declared(None)}
    assert {"fastapi", "uvicorn"} <= names


HELP_MUST_NOT_LOAD = ("docker", "fastapi", "uvicorn", "rich.markdown", "markdown_it", "pygments")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"]])
def test_help_loads_neither_the_docker_sdk_nor_the_api_stack_nor_rich_markdown(
    args: list[str], tmp_path: Path
) -> None:
    """`runner --help` is answered with typer and runner's command modules only (issue 17):
    the docker SDK, the API server's stack and rich's markdown (typer's rich help) stay out."""
    modules = {line.split("|")[-1].strip() for line in imported_by(args, tmp_path).splitlines()}
    loaded = sorted(
        m for m in modules
        if any(m == banned or m.startswith(banned + ".") for banned in HELP_MUST_NOT_LOAD)
    )
    assert loaded == []
    assert "runner.cli" in modules  # the measurement itself works


def test_run_help_keeps_its_option_panels(tmp_path: Path) -> None:
    """Plain help still groups `runner run`'s options by panel (issue 18's 80-column help)."""
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    sections = [line for line in done.stdout.splitlines() if line.endswith(":") and line[:1] != " "]
    assert sections == [
        "Arguments:", "Options:", "Project:", "Selection:", "Environment:", "Executors:",
        "Debugging:", "Output:",
    ]
    selection = done.stdout.split("\nSelection:\n")[1].split("\n\n")[0]
    assert "--workflow" in selection and "--config" not in selection


RUN_MUST_NOT_LOAD = ("runner.archive", "runner.store.caches", "tarfile", "zstandard",
                     "concurrent.futures", "fastapi", "uvicorn",
                     "runner.orbs")  # fmt: skip  # no orb but vendored ones: none of the registry


def test_a_job_without_job_data_loads_no_archive_machinery(tmp_path: Path) -> None:
    """Issue 17: archives (their checks, readers, compressors and thread pools) and the cache
    store load when a step saves or restores something (caches, workspaces, artifacts), and
    the orb registry's client when a config names an orb it has not vendored: not on every
    run."""
    project = make_project(
        tmp_path / "p", "version: 2.1\njobs:\n  build:\n    machine: true\n    steps: [{run: echo hi}]\n"
    )
    modules = {line.split("|")[-1].strip() for line in imported_by(["run"], project).splitlines()}
    assert "runner.engine" in modules and "runner.report.console" in modules  # it ran
    assert sorted(m for m in modules if m.startswith(RUN_MUST_NOT_LOAD)) == []


# Dataclasses runner keeps, each for something a Struct cannot do (the comment above each says what)
KEPT_DATACLASSES = {"runner.report.console.ConsoleReporter",
                    "runner.orbs.settings.RegistrySettings"}  # fmt: skip
PROBE = """
import dataclasses, sys
made = []
process = dataclasses._process_class
def noting(cls, *args, **kwargs):
    made.append(f"{cls.__module__}.{cls.__qualname__}")
    return process(cls, *args, **kwargs)
dataclasses._process_class = noting
import runner.cli, runner.runflow, runner.report.console, runner.store.recorder
import runner.executors.docker, runner.executors.machine, runner.cli.run_settings
print("\\n".join(m for m in made if m.startswith("runner.")))
"""


def test_the_start_of_a_run_makes_no_dataclasses_of_runners_own() -> None:
    """Issue 17: on Python 3.11 a dataclass compiles up to six methods when its module loads
    (about 1.5 ms each class here; 110 of them were a third of a run's start). runner's
    records are msgspec Structs, made in C."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) <= KEPT_DATACLASSES, done.stdout
