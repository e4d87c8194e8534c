"""File -> Config: parse safely, expand 2.1, validate into the frozen model.

Every problem found is reported at once, each with ``file:line:col`` and its key path.
"""

from __future__ import annotations

import difflib
import gc
from pathlib import Path

from runner.config import model as m
from runner.config.jobs import read_jobs
from runner.config.load_options import LoadOptions
from runner.config.parsed import ParsedStore
from runner.config.primary_env import primary_env_to_steps, primary_env_warnings
from runner.config.reader import Reader
from runner.config.workflows import read_workflows
from runner.config.yaml import MDict, load_file
from runner.errors import ConfigError, ConfigProblem, Mark

__all__ = ["LoadOptions", "build_config", "load_config", "processed_tree"]

VERSIONS = ("2", "2.0", "2.1")
TOP_KEYS = ("version", "jobs", "workflows", "orbs", "commands", "executors", "parameters", "setup")
ONLY_21 = ("orbs", "commands", "executors", "parameters", "setup")


def read_version(root: MDict, file: str) -> str:
    if "version" not in root:
        raise ConfigError.single(
            root.mark, "", "missing required key 'version'", "add 'version: 2.1'"
        )
    text = root.text("version") or ""
    if text not in VERSIONS:
        raise ConfigError.single(
            root.mark_of("version"),
            "version",
            f"unsupported config version '{text}'",
            "runner reads versions 2, 2.0 and 2.1",
        )
    return text


def parse_root(path: Path, display: str, parsed: ParsedStore | None = None) -> MDict:
    root = load_file(str(path), display, parsed)
    if not isinstance(root, MDict):
        raise ConfigError.single(Mark(display, 1, 1), "", "the config must be a map of keys")
    return root


def processed_tree(
    path: Path, display: str, options: LoadOptions | None = None,
    warnings: list[ConfigProblem] | None = None,
) -> tuple[MDict, str]:
    """The file's tree after 2.1 processing (version 2 shaped), and the config's version;
    what CircleCI would ignore is added to ``warnings``."""
    root = parse_root(path, display, options.parsed if options else None)
    version = read_version(root, display)
    _check_top_keys(root, version, display)
    if version == "2.1":
        from runner.config.expand import expand_config

        root = expand_config(root, file=display, options=options or LoadOptions(),
                             warnings=warnings)
    return root, version


def load_config(path: Path, display: str, options: LoadOptions | None = None) -> m.Config:
    # The trees are acyclic and short-lived: collections while they are built only rescan them
    # (a sixth of the time of a 1,000-job config), so they wait until the config is loaded.
    collecting = gc.isenabled()
    gc.disable()
    try:
        warnings: list[ConfigProblem] = []
        root, version = processed_tree(path, display, options, warnings)
        if options is not None and options.primary_env_to_steps:
            return primary_env_to_steps(build_config(root, version, display, warnings))
        warnings.extend(primary_env_warnings(root))
        return build_config(root, version, display, warnings)
    finally:
        if collecting:
            gc.enable()


def build_config(
    root: MDict, version: str, display: str, warnings: list[ConfigProblem] | None = None
) -> m.Config:
    """Validate a processed (version 2 shaped) tree into the model."""
    r = Reader(display)
    r.warnings.extend(warnings or ())
    jobs = read_jobs(r, root)
    workflows = read_workflows(r, root, jobs, version=version)
    r.raise_if_any()
    return m.Config(
        version=version,
        jobs=m.frozen_map(jobs),
        workflows=m.frozen_map(workflows),
        file=display,
        setup=root.get("setup") is True,
        warnings=tuple(dict.fromkeys(r.warnings)),  # an orb read twice warns once
    )


def _check_top_keys(root: MDict, version: str, file: str) -> None:
    problems: list[ConfigProblem] = []
    for key in root:
        if key in ONLY_21 and version != "2.1":
            problems.append(
                ConfigProblem(root.key_mark_of(key), key, f"'{key}' needs 'version: 2.1'")
            )
        elif key not in TOP_KEYS:
            # Unknown top-level keys are CircleCI's usual home for YAML anchors
            # (``defaults:``, ``references:``); only a near miss of a real key is an error.
            # A stricter cutoff than did_you_mean's: 'xcode_version' (an anchor holder of a
            # real config) is 0.7 close to 'version'; real typos ('verison', 'job') are >= 0.85.
            close = difflib.get_close_matches(key, TOP_KEYS, n=1, cutoff=0.8)
            if close:
                problems.append(
                    ConfigProblem(
                        root.key_mark_of(key), key, f"unknown top-level key '{key}'",
                        f"did you mean '{close[0]}'?",
                    )
                )
    if problems:
        raise ConfigError(problems)
