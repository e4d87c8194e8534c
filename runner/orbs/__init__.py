"""Orbs from CircleCI's orb registry: settings, the registry client, the cache, the lock.

``resolve_orb("circleci/continuation@1")`` is the one call other parts need: the orb's source
text, from the cache or the registry, as ``runner run`` would get it. No network at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from runner.orbs.resolver import default_resolver


def resolve_orb(
    reference: str,
    *,
    environ: Mapping[str, str] | None = None,
    host: str | None = None,
    offline: bool = False,
) -> str:
    """The source of orb ``ns/name@version`` (OrbNotFound, or a RunnerError naming the orb)."""
    resolver = default_resolver(os.environ if environ is None else environ, host=host,
                                offline=offline)
    return resolver.resolve(reference).source
