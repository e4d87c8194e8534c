"""Every orb a config needs, followed through orbs that import orbs: for ``runner orb fetch``,
``vendor`` and ``lock``, which must see them all (2.1 processing reads only the orbs it uses)."""

from __future__ import annotations

import re
from pathlib import Path

from msgspec import Struct

from runner.config.expand.orbs import MAX_ORB_DEPTH, vendored_candidates
from runner.config.orb_source import OrbNotFound, OrbText
from runner.config.reader import join
from runner.config.yaml import MDict, load_file, parse_text
from runner.errors import ConfigError, Mark
from runner.orbs.resolver import RegistryResolver

_REFERENCE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]*)/([A-Za-z0-9][A-Za-z0-9_-]*)(?:@(\S+))?\Z")


class Needed(Struct, frozen=True):
    reference: str
    text: OrbText | None  # None: vendored
    vendored: Path | None = None


def needed_orbs(root: MDict, orb_dir: Path | None, resolver: RegistryResolver) -> list[Needed]:
    """The orbs ``root`` names (and the orbs they name), vendored or resolved, in order."""
    out: dict[str, Needed] = {}
    queue: list[tuple[MDict, int]] = [(root, 0)]
    while queue:
        body, depth = queue.pop(0)
        for reference, mark, path in _references(body, ""):
            if reference in out:
                continue
            if depth >= MAX_ORB_DEPTH:
                raise ConfigError.single(mark, path, "orbs import orbs more than "
                                         f"{MAX_ORB_DEPTH} levels deep")
            needed, nested = _one(reference, mark, path, orb_dir, resolver)
            out[reference] = needed
            queue.append((nested, depth + 1))
    return list(out.values())


def _references(body: MDict, path: str) -> list[tuple[str, Mark, str]]:
    orbs = body.get("orbs")
    if not isinstance(orbs, MDict):
        return []
    found: list[tuple[str, Mark, str]] = []
    for alias, value in orbs.items():
        where = join(join(path, "orbs"), alias)
        if isinstance(value, MDict):  # an inline orb: its own orbs count
            found += _references(value, where)
        elif isinstance(value, str) and "<<" not in value and _REFERENCE.match(value.strip()):
            found.append((value.strip(), orbs.mark_of(alias), where))
    return found


def _one(reference: str, mark: Mark, path: str, orb_dir: Path | None,
         resolver: RegistryResolver) -> tuple[Needed, MDict]:
    match = _REFERENCE.match(reference)
    assert match is not None
    for candidate in vendored_candidates(orb_dir, match[1], match[2], match[3]):
        if candidate.is_file():
            return Needed(reference, None, candidate), _map(load_file(str(candidate)))
    try:
        text = resolver.resolve(reference)
    except OrbNotFound as exc:
        raise ConfigError.single(mark, path, exc.message, exc.hint) from None
    return Needed(reference, text), _map(parse_text(text.source, text.origin))


def _map(value: object) -> MDict:
    return value if isinstance(value, MDict) else MDict(Mark("", 1, 1))
