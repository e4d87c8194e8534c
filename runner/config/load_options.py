"""What 2.1 processing needs from outside the config file (``runner.config.load`` and
``runner.config.expand`` both read it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from runner.config.orb_source import OrbSource
from runner.config.parsed import ParsedStore


class LoadOptions(Struct, frozen=True, kw_only=True):
    """What 2.1 processing needs from outside the file."""

    pipeline_parameters: Mapping[str, str] = field(default_factory=dict)  # --param KEY=VALUE
    pipeline_values: Mapping[str, Any] = field(default_factory=dict)  # pipeline.git.branch, ...
    orb_dir: Path | None = None
    orb_source: OrbSource | None = None  # orbs not vendored: cache, lock, registry (runner.orbs)
    primary_env_to_steps: bool = False  # the pre-2020 rule (runner.config.primary_env)
    parsed: ParsedStore | None = None  # the config's and orbs' trees kept from earlier runs
