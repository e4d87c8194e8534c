"""Contexts, locally: named sets of variables read from a YAML file on this machine.

CircleCI keeps contexts on its servers; runner reads them from ``--contexts FILE``, else
``RUNNER_CONTEXTS``, else ``$XDG_CONFIG_HOME/runner/contexts.yml`` (``~/.config/...``). The
default lives outside every project on purpose: it holds secrets and must not be committed.

    org-global:
      AWS_ACCESS_KEY_ID: AKIA...
    deploy:
      TOKEN: ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runner.config.reader import Reader, join
from runner.config.yaml import MDict, load_file
from runner.errors import ConfigError, ConfigProblem, Mark


def contexts_path(override: Path | None, environ: Mapping[str, str]) -> Path:
    if override is not None:
        return override
    if environ.get("RUNNER_CONTEXTS"):
        return Path(environ["RUNNER_CONTEXTS"]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(
        environ.get("HOME", os.path.expanduser("~")), ".config"
    )
    return Path(base) / "runner" / "contexts.yml"


def load_contexts(path: Path, *, required: bool) -> dict[str, dict[str, str]]:
    """Every context in the file; an absent file is empty unless it was named explicitly."""
    if not path.is_file():
        if required:
            raise ConfigError([ConfigProblem(None, "", f"contexts file {path} does not exist")])
        return {}
    root = load_file(str(path))
    if not isinstance(root, MDict):
        raise ConfigError([ConfigProblem(Mark(str(path), 1, 1), "", "expected a map of contexts")])
    reader = Reader(str(path))
    out: dict[str, dict[str, str]] = {}
    for name in root:
        if not isinstance(root[name], MDict):
            reader.problem(root.mark_of(name), name, "a context is a map of NAME: value")
            continue
        out[name] = reader.environment(root, name, "")
        for var in out[name]:
            from runner.environment import NAME

            if not NAME.match(var):
                reader.problem(
                    root[name].key_mark_of(var), join(name, var), "invalid variable name"
                )
    reader.raise_if_any()
    return out
