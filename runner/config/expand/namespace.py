"""Where names resolve: the config's own commands/jobs/executors, and those of its orbs.

A name ``x`` resolves in the namespace where it is written; ``alias/x`` resolves in the orb imported
as ``alias`` there. An orb's elements see only the orb's own elements, the orbs it imports and the
built-in steps: "It is not possible to call commands outside the scope of declaration of the job"
[RC "Jobs defined in an orb"]. Orbs are imported lazily, when one of their elements is first used.
"""

from __future__ import annotations

from typing import Any, Protocol

from msgspec import Struct

from runner.config.expand.nodes import fail
from runner.config.expand.params import RESERVED_JOB_PARAMS, Param, read_params
from runner.config.reader import join
from runner.config.yaml import MDict
from runner.errors import Mark, did_you_mean


class OrbLoader(Protocol):
    """What a namespace needs to import an orb (``runner.config.expand.orbs.OrbLoader``); a
    protocol here, so that orbs (which builds namespaces) is imported by this module, not the
    other way round."""

    def load(self, owner: Namespace, alias: str, value: Any, mark: Mark, path: str) -> Namespace:
        ...

SECTIONS = {"command": "commands", "job": "jobs", "executor": "executors"}


class Definition(Struct, frozen=True, eq=False):
    kind: str  # "command" | "job" | "executor"
    name: str  # as the config refers to it: "greet", "node/install"
    body: Any
    path: str  # key path of the definition in its own file
    mark: Mark
    ns: Namespace  # where the names inside the body resolve

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"


class Namespace:
    def __init__(
        self, *, label: str, body: MDict, path: str, in_orb: bool, loader: OrbLoader,
        depth: int = 0, chain: tuple[str, ...] = (),
    ) -> None:
        self.label = label  # "" for the config itself, else the orb's alias ("node")
        self.body = body
        self.path = path  # key path of ``body`` in its file ("" at a file's root)
        self.in_orb = in_orb
        self.loader = loader
        self.depth = depth
        self.chain = chain  # orb references that led here, to refuse cycles
        self._orbs: dict[str, Namespace | None] = {}
        self._defs: dict[tuple[str, str], Definition | None] = {}
        self._params: dict[int, dict[str, Param]] = {}

    def section(self, kind: str) -> MDict:
        node = self.body.get(SECTIONS[kind])
        return node if isinstance(node, MDict) else MDict(self.body.mark)

    def own(self, kind: str, name: str) -> Definition | None:
        key = (kind, name)
        if key not in self._defs:
            section = self.section(kind)
            found = None
            if name in section:
                qualified = f"{self.label}/{name}" if self.label else name
                found = Definition(kind, qualified, section[name],
                                   join(join(self.path, SECTIONS[kind]), name),
                                   section.mark_of(name), self)
            self._defs[key] = found
        return self._defs[key]

    def lookup(self, kind: str, name: str, mark: Mark, path: str) -> Definition | None:
        """The definition ``name`` refers to here; None when nothing by that name exists."""
        alias, slash, element = name.partition("/")
        if not slash:
            return self.own(kind, name)
        orb = self.orb(alias)
        if orb is None:
            return None
        found = orb.own(kind, element)
        if found is None:
            fail(mark, path, f"orb '{alias}' has no {kind} '{element}'",
                 did_you_mean(element, orb.section(kind))
                 or f"its {SECTIONS[kind]}: " + (", ".join(orb.section(kind)) or "none"))
        return found

    def orb(self, alias: str) -> Namespace | None:
        if alias not in self._orbs:
            orbs = self.body.get("orbs")
            if not isinstance(orbs, MDict) or alias not in orbs:
                self._orbs[alias] = None
            else:
                where = join(join(self.path, "orbs"), alias)
                self._orbs[alias] = self.loader.load(self, alias, orbs[alias], orbs.mark_of(alias),
                                                     where)
        return self._orbs[alias]

    def known(self, kind: str) -> list[str]:
        """Names for "did you mean": own elements and ``alias/`` prefixes of imported orbs."""
        orbs = self.body.get("orbs")
        aliases = [f"{a}/" for a in orbs] if isinstance(orbs, MDict) else []
        return [*self.section(kind), *aliases]

    def params(self, definition: Definition) -> dict[str, Param]:
        key = id(definition.body)
        if key not in self._params:
            body = definition.body
            assert isinstance(body, MDict)
            reserved = RESERVED_JOB_PARAMS if definition.kind == "job" else ()
            self._params[key] = read_params(
                body.get("parameters"), body.mark_of("parameters"),
                join(definition.path, "parameters"), reserved=reserved)
        return self._params[key]
