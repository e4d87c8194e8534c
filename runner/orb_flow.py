"""``runner orb fetch | vendor | lock``: the core calls behind them (the CLI only prints).

- fetch: every orb the config needs (and the orbs they import) into the orb cache, and the
  project's lock (``.circleci/orbs.lock``) written for them;
- vendor: the same, and each source written into the orb directory (``.circleci/orbs/``) under
  the name the config loader looks for, so a team can commit them;
- lock: every reference resolved again (the lock and the day-old cache ignored), lock rewritten.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from runner.config.load import parse_root
from runner.orbs.cache import atomic_write
from runner.orbs.lock import lock_path, write_lock
from runner.orbs.resolver import lock_entries
from runner.orbs.walk import Needed, needed_orbs
from runner.runflow import ProjectRequest, open_project, orb_resolver


def orbs(
    request: ProjectRequest,
    action: str,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> list[str]:
    """Do ``action`` (fetch, vendor, lock); lines that say what was done."""
    environ = os.environ if environ is None else environ
    project = open_project(request, cwd=cwd)
    root = parse_root(project.config_path, project.config_display)
    resolver = orb_resolver(request, project, environ, locked=action != "lock")
    resolver.refresh = action == "lock"
    orb_dir = request.orb_dir or project.root / ".circleci" / "orbs"
    needed = needed_orbs(root, orb_dir, resolver)
    lines = [_describe(n, project.root) for n in needed]
    if action == "vendor":
        lines += [_vendor(n, orb_dir, project.root) for n in needed if n.text is not None]
    entries = lock_entries(resolver)
    if entries:
        path = lock_path(project.config_path)
        write_lock(path, entries)
        lines.append(f"wrote {_shown(path, project.root)} ({len(entries)} orb"
                     f"{'s' * (len(entries) != 1)})")
    elif not needed:
        lines.append("the config names no orbs by reference")
    return lines


def _describe(needed: Needed, root: Path) -> str:
    if needed.text is None:
        return f"{needed.reference}: vendored in {_shown(needed.vendored, root)}"
    return f"{needed.reference}: {needed.text.version} (cached in {needed.text.origin})"


def _vendor(needed: Needed, orb_dir: Path, root: Path) -> str:
    assert needed.text is not None
    name, _, version = needed.reference.partition("@")
    target = orb_dir / (f"{name}@{version}.yml" if version else f"{name}.yml")
    atomic_write(target, needed.text.source)
    return f"vendored {needed.reference} ({needed.text.version}) as {_shown(target, root)}"


def _shown(path: Path | None, root: Path) -> str:
    if path is None:
        return ""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
