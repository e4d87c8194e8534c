"""Orbs: inline orbs, orbs by reference vendored in a directory, or from an injected source.

CircleCI resolves ``ns/name@version`` on its servers [CLI config/config.go]. Here a vendored file
wins; otherwise the :class:`~runner.config.orb_source.OrbSource` the edge gives (its cache, its
lock, CircleCI's registry: ``runner.orbs``) is asked. This module itself never opens a socket.

Layout of the orb directory (``LoadOptions.orb_dir``, e.g. ``.circleci/orbs``), first match wins::

    <orb_dir>/<namespace>/<name>@<version>.yml    # circleci/node@5.0.2 -> circleci/node@5.0.2.yml
    <orb_dir>/<namespace>/<name>.yml              # any version of circleci/node

so ``circleci orb source circleci/node@5.0.2 > .circleci/orbs/circleci/node@5.0.2.yml`` vendors
one. An orb is read only when one of its elements is used; a missing one is an error located at
its line under ``orbs:``. Orbs importing orbs are followed up to ``MAX_ORB_DEPTH`` levels, and a
reference cycle is refused. Orb keys that only document (``description``, ``display``,
``examples``, ``version``) are ignored; so are other top-level keys, with a warning: CircleCI
accepts them (older published orbs keep YAML anchor holders at the top), as it does in a config.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from pathlib import Path
from typing import Any

from runner.config.expand.builtin_orbs import builtin_orb
from runner.config.expand.interpolate import Interpolator, Scope
from runner.config.expand.namespace import Namespace
from runner.config.expand.nodes import fail
from runner.config.orb_source import OrbNotFound, OrbSource
from runner.config.parsed import ParsedStore
from runner.config.reader import join, kind_of
from runner.config.yaml import MDict, load_file, parse_kept
from runner.errors import ConfigProblem, Mark

MAX_ORB_DEPTH = 8
ORB_KEYS = ("version", "description", "display", "orbs", "commands", "jobs", "executors",
            "examples")
_REFERENCE = re.compile(
    r"(?P<ns>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)"
    r"(?:@(?P<version>[A-Za-z0-9][A-Za-z0-9._:+-]*))?\Z"
)
DEFAULT_ORB_DIR = ".circleci/orbs"


class OrbLoader:
    def __init__(
        self, interp: Interpolator, orb_dir: Path | None, source: OrbSource | None = None,
        warnings: list[ConfigProblem] | None = None, parsed: ParsedStore | None = None,
    ) -> None:
        self.interp = interp
        self.orb_dir = orb_dir
        self.source = source
        self.parsed = parsed  # orbs' trees kept between runs, as the config's (issue 17)
        self.warnings: list[ConfigProblem] = [] if warnings is None else warnings
        self._files: dict[Path, MDict] = {}
        self._fetched: dict[str, MDict] = {}

    def load(self, owner: Namespace, alias: str, value: Any, mark: Mark, path: str) -> Namespace:
        label = f"{owner.label}/{alias}" if owner.label else alias
        if owner.depth >= MAX_ORB_DEPTH:
            fail(mark, path, f"orbs import orbs more than {MAX_ORB_DEPTH} levels deep")
        if isinstance(value, MDict):
            self._check_keys(value, path)
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
        builtin = builtin_orb(match["ns"], match["name"])  # circleci/continuation: see there
        if builtin is not None:
            return builtin
        candidates = self.candidates(match["ns"], match["name"], match["version"])
        for candidate in candidates:
            if candidate in self._files:
                return self._files[candidate]
            if candidate.is_file():
                return self._parse(candidate, path)
        if self.source is not None:
            return self._from_source(self.source, reference, mark, path)
        return self._missing(reference, self.candidates(match["ns"], match["name"],
                                                        match["version"] or "")[:1], mark, path)

    def candidates(self, namespace: str, name: str, version: str | None) -> list[Path]:
        return vendored_candidates(self.orb_dir, namespace, name, version)

    def _parse(self, file: Path, path: str) -> MDict:
        body = load_file(str(file), str(file), self.parsed)
        if not isinstance(body, MDict):
            fail(Mark(str(file), 1, 1), "", f"an orb is a map of keys, found {kind_of(body)}")
        self._check_keys(body, "")
        self._files[file] = body
        return body

    def _from_source(self, source: OrbSource, reference: str, mark: Mark, path: str) -> MDict:
        if reference in self._fetched:
            return self._fetched[reference]
        try:
            found = source.resolve(reference)
        except OrbNotFound as exc:
            fail(mark, path, exc.message, exc.hint)
        body = parse_kept(found.source, found.origin, self.parsed)
        if not isinstance(body, MDict):
            fail(Mark(found.origin, 1, 1), "", f"an orb is a map of keys, found {kind_of(body)}")
        self._check_keys(body, "")
        self._fetched[reference] = body
        return body

    def _check_keys(self, body: MDict, path: str) -> None:
        """A near miss of a real key is a typo (refused, as in a config); others are ignored."""
        for key in body:
            if key in ORB_KEYS:
                continue
            close = difflib.get_close_matches(key, ORB_KEYS, n=1, cutoff=0.8)
            if close:
                fail(body.key_mark_of(key), join(path, key), f"unknown orb key '{key}'",
                     f"did you mean '{close[0]}'?")
            self.warnings.append(ConfigProblem(
                body.key_mark_of(key), join(path, key), f"unknown orb key '{key}' is ignored",
                "an orb holds commands, jobs, executors and orbs"))

    def _missing(self, reference: str, looked: list[Path], mark: Mark, path: str) -> MDict:
        if looked:
            file, where = str(looked[0]), f"{looked[0]} does not exist"
        else:
            file, where = f"{DEFAULT_ORB_DIR}/{reference}.yml", "no orb directory is set"
        folder = os.path.dirname(file)
        fail(mark, path, f"orb '{reference}' is not vendored ({where}); runner never downloads "
             "orbs", f"save its source: mkdir -p {shlex.quote(folder)} && circleci orb source "
             f"{reference} > {shlex.quote(file)}")



def vendored_candidates(
    orb_dir: Path | None, namespace: str, name: str, version: str | None
) -> list[Path]:
    """The files of an orb directory that may hold ``namespace/name@version``, best first."""
    if orb_dir is None:
        return []
    folder = orb_dir / namespace
    exact = [folder / f"{name}@{version}.yml"] if version else []
    return [*exact, folder / f"{name}.yml"]
