"""The project's orb lock, ``.circleci/orbs.lock``: what each reference resolved to, and the
SHA-256 of that source, so that ``circleci/node@5`` means the same orb on every machine until
``runner orb lock`` is run again. JSON, sorted, meant to be committed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from msgspec import Struct

from runner.errors import ConfigError, ConfigProblem, Mark
from runner.orbs.cache import atomic_write

LOCK_NAME = "orbs.lock"
FORMAT = 1


class Locked(Struct, frozen=True):
    version: str
    sha256: str


def digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def lock_path(config_path: Path) -> Path:
    """Next to the config: ``.circleci/orbs.lock``."""
    return config_path.parent / LOCK_NAME


def read_lock(path: Path, display: str) -> dict[str, Locked]:
    """The lock's entries; none when there is no lock; a config error when it is damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(display, f"cannot read it ({exc})") from None
    try:
        data = json.loads(text)
        orbs = data["orbs"]
        entries = {ref: Locked(str(e["version"]), str(e["sha256"])) for ref, e in orbs.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _bad(display, "it is not a lock runner wrote") from None
    return entries


def write_lock(path: Path, entries: dict[str, Locked]) -> None:
    data = {
        "lockfileVersion": FORMAT,
        "orbs": {ref: {"version": e.version, "sha256": e.sha256}
                 for ref, e in sorted(entries.items())},
    }
    atomic_write(path, json.dumps(data, indent=2) + "\n")


def _bad(display: str, why: str) -> ConfigError:
    return ConfigError([ConfigProblem(
        Mark(display, 1, 1), "", f"the orb lock is damaged: {why}",
        "remove it and run `runner orb lock` to write it again",
    )])
