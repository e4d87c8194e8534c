"""Containers that runs left behind: removed by label, never anything else.

``runner clean`` calls :func:`remove_labelled` with the state directory's name: it removes every
container of that project's runs (kept ones included) whose runner is no longer running. Each
run's ``prepare()`` calls :func:`reap_dead`: it removes containers of any project whose runner
process, on this host, is gone (a crash, a ``kill -9``, a second Ctrl-C), except those a run
kept on purpose with ``--keep``. Both select by runner's labels only (see
:mod:`runner.executors.docker.labels`), so nothing the user made is ever touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.errors import RunnerError
from runner.executors.docker import labels as lab
from runner.executors.docker.connection import Api, EngineError, connect
from runner.executors.docker.containers import Started, remove_all


def _labels(container: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (container.get("Labels") or {}).items()}


def _boxes(containers: list[dict[str, Any]]) -> list[Started]:
    out = []
    for c in containers:
        names = c.get("Names") or [c["Id"][:12]]
        out.append(Started(str(c["Id"]), str(names[0]).lstrip("/"), _labels(c).get(lab.ROLE, "")))
    return out


def _remove(api: Api, containers: list[dict[str, Any]]) -> str | None:
    """Remove; None when all went, else why not."""
    try:
        remove_all(api, _boxes(containers), deadline=60)
    except RunnerError as exc:
        return exc.message
    return None


def remove_labelled(state_name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """``runner clean``: remove the containers of this state directory's finished runs."""
    try:
        api = connect(os.environ if environ is None else environ)
    except RunnerError:
        return ["no Docker engine answers: containers were not checked"]
    try:
        found = api.containers(f"{lab.STATE}={state_name}")
        alive = [c for c in found if lab.owner_alive(_labels(c)) is True]
        gone = [c for c in found if c not in alive]
        lines = []
        if gone:
            problem = _remove(api, gone)
            lines.append(f"removed {len(gone)} container(s) left by earlier runs")
            if problem:
                lines.append(problem)
        else:
            lines.append("no containers left by earlier runs")
        if alive:
            runs = sorted({_labels(c).get(lab.RUN, "?") for c in alive})
            lines.append(
                f"left {len(alive)} container(s) of run(s) still in progress: {', '.join(runs)}"
            )
    except EngineError as exc:
        return [f"the Docker engine failed while cleaning: {exc.reason}"]
    finally:
        api.close()
    return lines


def reap_dead(api: Api) -> list[str]:
    """Remove containers whose runner (on this host) died without cleaning up."""
    try:
        found = api.containers(lab.PID)
    except EngineError:
        return []
    dead = [
        c for c in found
        if lab.owner_alive(_labels(c)) is False and _labels(c).get(lab.KEEP) != "1"
    ]
    if not dead:
        return []
    runs = sorted({_labels(c).get(lab.RUN, "?") for c in dead})
    problem = _remove(api, dead)
    line = (
        f"removed {len(dead)} container(s) left by run(s) {', '.join(runs)}, whose runner "
        "process is gone"
    )
    return [line] + ([problem] if problem else [])
