"""Orbs: inline orbs, and orbs by reference read from a vendored directory. Never the network.

CircleCI resolves ``ns/name@version`` on its servers [CLI config/config.go]; runner works offline,
so an orb by reference must be saved beforehand, as the YAML that ``circleci orb source`` prints.

Layout of the orb directory (``LoadOptions.orb_dir``, e.g. ``.circleci/orbs``), first match wins::

    <orb_dir>/<namespace>/<name>@<version>.yml    # circleci/node@5.0.2 -> circleci/node@5.0.2.yml
    <orb_dir>/<namespace>/<name>.yml              # any version of circleci/node

so ``circleci orb source circleci/node@5.0.2 > .circleci/orbs/circleci/node@5.0.2.yml`` vendors
one. An orb is read only when one of its elements is used; a missing one is an error located at
its line under ``orbs:``. Orbs importing orbs are followed up to ``MAX_ORB_DEPTH`` levels, and a
reference cycle is refused. Orb keys that only document (``description``, ``display``,
``examples``, ``version``) are ignored.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

from runner.config.expand.interpolate import Interpolator, Scope
from runner.config.expand.namespace import Namespace
from runner.config.expand.nodes import fail
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict, load_file
from runner.errors import Mark, did_you_mean

MAX_ORB_DEPTH = 8
ORB_KEYS = ("version", "description", "display", "orbs", "commands", "jobs", "executors",
            "examples")
_REFERENCE = re.compile(
    r"(?P<ns>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)"
    r"(?:@(?P<version>[A-Za-z0-9][A-Za-z0-9._:+-]*))?\Z"
)
DEFAULT_ORB_DIR = ".circleci/orbs"


class OrbLoader:
    def __init__(self, interp: Interpolator, orb_dir: Path | None) -> None:
        self.interp = interp
        self.orb_dir = orb_dir
        self._files: dict[Path, MDict] = {}

    def load(self, owner: Namespace, alias: str, value: Any, mark: Mark, path: str) -> Namespace:
        label = f"{owner.label}/{alias}" if owner.label else alias
        if owner.depth >= MAX_ORB_DEPTH:
            fail(mark, path, f"orbs import orbs more than {MAX_ORB_DEPTH} levels deep")
        if isinstance(value, MDict):
            _check_keys(value, path)
            return Namespace(label=label, body=value, path=path, in_orb=True, loader=self,
                             depth=owner.depth + 1, chain=owner.chain)
        if not isinstance(value, str):
            fail(mark, path, f"expected an orb reference or an inline orb, found {kind_of(value)}")
        # pipeline parameters may choose an orb's version [PV]
        reference = self.interp.scalar(value, Scope(in_orb=owner.in_orb), path, mark)
        if not isinstance(reference, str):
            fail(mark, path, f"expected an orb reference, found {kind_of(reference)}")
        reference = reference.strip()
        if reference in owner.chain:
            cycle = " -> ".join([*owner.chain[owner.chain.index(reference):], reference])
            fail(mark, path, f"orbs import each other in a cycle: {cycle}")
        body = self._read(reference, mark, path)
        return Namespace(label=label, body=body, path="", in_orb=True, loader=self,
                         depth=owner.depth + 1, chain=(*owner.chain, reference))

    def _read(self, reference: str, mark: Mark, path: str) -> MDict:
        match = _REFERENCE.match(reference)
        if match is None:
            fail(mark, path, f"invalid orb reference '{reference}'",
                 "write namespace/name@version, or an inline orb map")
        candidates = self.candidates(match["ns"], match["name"], match["version"])
        for candidate in candidates:
            if candidate in self._files:
                return self._files[candidate]
            if candidate.is_file():
                return self._parse(candidate, path)
        return self._missing(reference, self.candidates(match["ns"], match["name"],
                                                        match["version"] or "")[:1], mark, path)

    def candidates(self, namespace: str, name: str, version: str | None) -> list[Path]:
        if self.orb_dir is None:
            return []
        folder = self.orb_dir / namespace
        exact = [folder / f"{name}@{version}.yml"] if version else []
        return [*exact, folder / f"{name}.yml"]

    def _parse(self, file: Path, path: str) -> MDict:
        body = load_file(str(file), str(file))
        if not isinstance(body, MDict):
            fail(Mark(str(file), 1, 1), "", f"an orb is a map of keys, found {kind_of(body)}")
        _check_keys(body, "")
        self._files[file] = body
        return body

    def _missing(self, reference: str, looked: list[Path], mark: Mark, path: str) -> MDict:
        if looked:
            file, where = str(looked[0]), f"{looked[0]} does not exist"
        else:
            file, where = f"{DEFAULT_ORB_DIR}/{reference}.yml", "no orb directory is set"
        folder = os.path.dirname(file)
        fail(mark, path, f"orb '{reference}' is not vendored ({where}); runner never downloads "
             "orbs", f"save its source: mkdir -p {shlex.quote(folder)} && circleci orb source "
             f"{reference} > {shlex.quote(file)}")


def _check_keys(body: MDict, path: str) -> None:
    for key in body:
        if key not in ORB_KEYS:
            fail(body.key_mark_of(key), join(path, key), f"unknown orb key '{key}'",
                 did_you_mean(key, ORB_KEYS) or "an orb holds commands, jobs, executors, orbs")
