"""Orbs by reference, resolved as CircleCI resolves them, through a lock and a cache.

Order for ``ns/name@version`` (the project's vendored ``.circleci/orbs/`` is looked at before
this, by the config loader):

1. the project's lock (``.circleci/orbs.lock``) names the exact version and the source's SHA-256:
   that version is used, and a source with another digest is refused;
2. an exact version (``5.0.2``) in the cache is used for ever;
3. a partial one (``5``, ``5.0``, ``volatile``, ``dev:label``) in the cache is used if it was
   resolved less than a day ago, else the registry is asked again;
4. the registry (:mod:`runner.orbs.registry`) is asked; its answer is cached atomically;
5. when the registry cannot be reached, a cached resolution of any age is used; with nothing
   cached, the error names the orb. ``--offline`` never asks (steps 4 and 5 become the error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from runner.config.orb_source import OrbText
from runner.errors import ConfigError, ConfigProblem, Mark
from runner.orbs.cache import REFRESH, OrbCache, Resolved, is_exact
from runner.orbs.lock import Locked, digest
from runner.orbs.registry import Answer, RegistryError, fetch
from runner.orbs.settings import RegistrySettings

_REFERENCE = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9_-]*)"
                        r"(?:@(?P<version>[A-Za-z0-9][A-Za-z0-9._:+-]*))?\Z")
Fetch = Callable[[RegistrySettings, str], Answer]


class OfflineMiss(RegistryError):
    """``--offline`` and the orb is not cached."""


class RegistryResolver:
    """An :class:`~runner.config.orb_source.OrbSource` over CircleCI's orb registry."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        lock: Mapping[str, Locked] | None = None,
        lock_display: str = ".circleci/orbs.lock",
        fetcher: Fetch = fetch,
        refresh: bool = False,
    ) -> None:
        self.settings = settings
        self.cache = OrbCache(settings)
        self.lock = dict(lock or {})
        self.lock_display = lock_display
        self.fetcher = fetcher
        self.refresh = refresh  # ask again for partial references, however fresh (orb lock)
        self.resolved: dict[str, OrbText] = {}  # every reference answered, for lock and vendor

    def resolve(self, reference: str) -> OrbText:
        if reference in self.resolved:
            return self.resolved[reference]
        match = _REFERENCE.match(reference)
        if match is None:
            raise RegistryError(f"invalid orb reference '{reference}'")
        name, asked = match["name"], match["version"] or "volatile"
        locked = self.lock.get(reference)
        if locked is not None:
            text = self._exact(reference, name, locked.version)
            if digest(text.source) != locked.sha256:
                raise self._lock_mismatch(reference, locked)
        elif is_exact(asked):
            text = self._exact(reference, name, asked)
        else:
            text = self._partial(reference, name, asked)
        self.resolved[reference] = text
        return text

    def _exact(self, reference: str, name: str, version: str) -> OrbText:
        source = self.cache.read_source(name, version)
        if source is None:
            answer = self._ask(reference, f"{name}@{version}")
            if answer.version != version:
                raise RegistryError(
                    f"CircleCI's orb registry answered version {answer.version} for orb "
                    f"'{name}@{version}'", hint="check --orb-host / CIRCLECI_CLI_HOST")
            self.cache.write_source(name, version, answer.source)
            source = answer.source
        return OrbText(reference, version, source, str(self.cache.source_path(name, version)))

    def _partial(self, reference: str, name: str, asked: str) -> OrbText:
        cached = self.cache.read_ref(name, asked)
        source = self.cache.read_source(name, cached.version) if cached else None
        fresh = (cached is not None and not self.refresh
                 and self.settings.clock() - cached.resolved_at < REFRESH)
        if cached is not None and source is not None and (fresh or self.settings.offline):
            return OrbText(reference, cached.version, source,
                           str(self.cache.source_path(name, cached.version)))
        try:
            answer = self._ask(reference, f"{name}@{asked}")
        except RegistryError:
            if cached is None or source is None:
                raise
            # the network is down: a resolution of any age beats no run at all
            return OrbText(reference, cached.version, source,
                           str(self.cache.source_path(name, cached.version)))
        path = self.cache.write_source(name, answer.version, answer.source)
        self.cache.write_ref(name, asked, Resolved(answer.version, self.settings.clock()))
        return OrbText(reference, answer.version, answer.source, str(path))

    def _ask(self, reference: str, ref: str) -> Answer:
        if self.settings.offline:
            raise OfflineMiss(
                f"orb '{reference}' is not in the orb cache, and --offline forbids asking "
                "CircleCI's orb registry",
                hint="run `runner orb fetch` once with the network, or vendor it with "
                "`runner orb vendor`",
            )
        return self.fetcher(self.settings, ref)

    def _lock_mismatch(self, reference: str, locked: Locked) -> ConfigError:
        return ConfigError([ConfigProblem(
            Mark(self.lock_display, 1, 1), f"orbs.{reference}",
            f"orb '{reference}' locked at {locked.version} has another source than the lock "
            "records (sha256 differs)",
            "if the change is expected, run `runner orb lock` to record it",
        )])


def default_resolver(
    environ: Mapping[str, str],
    *,
    lock: Mapping[str, Locked] | None = None,
    lock_display: str = ".circleci/orbs.lock",
    host: str | None = None,
    offline: bool = False,
) -> RegistryResolver:
    settings = RegistrySettings.from_environ(environ, host=host, offline=offline)
    return RegistryResolver(settings, lock=lock, lock_display=lock_display)


def lock_entries(resolver: RegistryResolver) -> dict[str, Locked]:
    """What the resolver answered, as lock entries."""
    return {ref: Locked(t.version, digest(t.source)) for ref, t in resolver.resolved.items()}
