"""Where the orb registry is, who we are to it, and where its answers are kept.

As CircleCI's CLI: the host is ``https://circleci.com`` unless ``CIRCLECI_CLI_HOST`` (or the
``host:`` of the CLI's own ``~/.circleci/cli.yml``) says otherwise, the token comes from
``CIRCLECI_CLI_TOKEN`` or that file's ``token:`` [CLI settings/settings.go]; runner's
``--orb-host`` wins over both. Orbs are cached under ``$XDG_CACHE_HOME/runner/orbs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_HOST = "https://circleci.com"
ENDPOINT = "graphql-unstable"  # the CLI's default --endpoint [CLI cmd/root.go]


# A dataclass, not a Struct: a Struct's repr cannot leave the token out.
@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrySettings:
    cache_dir: Path
    host: str = DEFAULT_HOST
    token: str | None = field(default=None, repr=False)  # never printed
    offline: bool = False
    timeout: float = 30.0
    clock: Callable[[], float] = time.time

    @property
    def address(self) -> str:
        return f"{self.host.rstrip('/')}/{ENDPOINT}"

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, host: str | None = None, offline: bool = False
    ) -> RegistrySettings:
        home = Path(environ.get("HOME") or Path.home())
        cli = _cli_settings(home / ".circleci" / "cli.yml")
        cache = environ.get("XDG_CACHE_HOME") or str(home / ".cache")
        return cls(
            cache_dir=Path(cache) / "runner" / "orbs",
            host=host or environ.get("CIRCLECI_CLI_HOST") or cli.get("host") or DEFAULT_HOST,
            token=environ.get("CIRCLECI_CLI_TOKEN") or cli.get("token") or None,
            offline=offline,
        )


def _cli_settings(path: Path) -> dict[str, str]:
    """``host`` and ``token`` of CircleCI CLI's config file, if it is there and readable."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k in ("host", "token") if isinstance(v := data.get(k), str) and v.strip()}
