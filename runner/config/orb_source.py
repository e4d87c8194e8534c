"""Where orbs by reference come from when the project has not vendored them: an injected source.

2.1 processing stays pure: it never opens a socket. The edge (``runner.runflow``) hands it an
:class:`OrbSource` (``runner.orbs.resolver.RegistryResolver``: a cache, a lock file and CircleCI's
orb registry); without one, only vendored orbs exist.
"""

from __future__ import annotations

from typing import Protocol

from msgspec import Struct


class OrbText(Struct, frozen=True):
    """One orb's source as published, and which version it is."""

    reference: str  # as written: ``circleci/node@5``
    version: str  # what the registry resolved it to: ``5.0.2`` (or ``dev:label``)
    source: str  # the YAML ``circleci orb source`` prints
    origin: str  # where the text can be read (the cache file), for error locations


class OrbNotFound(Exception):
    """The registry answered that no such orb (or version) exists: a config error at the
    reference."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class OrbSource(Protocol):
    def resolve(self, reference: str) -> OrbText:
        """The orb for ``ns/name@version``; OrbNotFound if the registry has none; a
        RunnerError (exit 3) when it cannot be asked and nothing is cached."""
        ...
