"""The state one expansion shares: interpolation, orb loading, caches, and argument binding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import Struct

from runner.config.expand.interpolate import Interpolator, Scope
from runner.config.expand.namespace import Definition, Namespace
from runner.config.expand.nodes import ExpandedSteps, fail, text_of
from runner.config.expand.params import Param, bind, coerce
from runner.config.yaml import MDict
from runner.errors import ConfigProblem, Mark

MAX_CALL_DEPTH = 64


class Env(Struct, frozen=True):
    """Where steps are being expanded: names resolve in ``ns``, ``<< >>`` reads ``scope``."""

    ns: Namespace
    scope: Scope
    calls: tuple[str, ...] = ()  # the commands being expanded, outermost first

    def calling(self, definition: Definition, scope: Scope, mark: Mark, path: str) -> Env:
        name = definition.name
        if name in self.calls:
            cycle = " -> ".join([*self.calls[self.calls.index(name):], name])
            fail(mark, path, f"commands call each other in a cycle: {cycle}")
        if len(self.calls) >= MAX_CALL_DEPTH:
            fail(mark, path, f"commands call commands more than {MAX_CALL_DEPTH} levels deep")
        return Env(definition.ns, scope, (*self.calls, name))


# expand_steps(x, steps, env, mark, path) and resolve_executor(x, value, env, mark, path), given
# by the package so that this module needs neither (they need it)
Complete = Callable[["Expander", Any, Env, Mark, str], Any]


class Expander:
    def __init__(
        self, interp: Interpolator, *, steps: Complete, executor: Complete,
        warnings: list[ConfigProblem] | None = None,
    ) -> None:
        self.interp = interp
        self.warnings: list[ConfigProblem] = [] if warnings is None else warnings
        self.cache: dict[Any, Any] = {}
        self.matrix_jobs = 0  # jobs the config's matrices make, against MAX_MATRIX_JOBS
        self._steps = steps
        self._executor = executor

    def bind(
        self, definition: Definition, args: MDict | None, caller: Env, mark: Mark, path: str,
        *, skip: tuple[str, ...] = (),
    ) -> Scope:
        """The scope of one invocation of ``definition`` with ``args`` written at ``path``."""
        owner = definition.label
        home = Env(definition.ns, Scope(owner=owner, in_orb=definition.ns.in_orb), caller.calls)

        def finish(param: Param, value: Any, at: Mark, where: str, from_caller: bool) -> Any:
            env = caller if from_caller else home
            if not from_caller and isinstance(value, str) and "<<" in value:
                value = self.interp.scalar(value, home.scope, where, at)
                if param.type not in ("steps", "executor"):
                    return coerce(param, value, text_of(value), at, where)
            if not from_caller and param.type in ("steps", "executor"):
                value = self.interp.tree(value, home.scope, where, at)
            if param.type == "steps":
                return value if isinstance(value, ExpandedSteps) else self._steps(
                    self, value, env, at, where)
            if param.type == "executor":
                return self._executor(self, value, env, at, where)
            return value

        params = definition.ns.params(definition)
        values = bind(params, args, owner=owner, mark=mark, path=path, finish=finish, skip=skip)
        return Scope(values, owner, None, definition.ns.in_orb)
