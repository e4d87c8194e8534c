"""One name on disk and in the engine for each job name: readable, and never shared.

Job names (``a/b``, ``test (a)``, a matrix's ``test-[a]``, ``..``) become folders (logs,
artifacts, test results, workspace layers, timings) and container names. A lossy mapping let
``a/b`` and ``a__b`` share a folder and a container name, one job overwriting the other's log and
``Conflict. The container name ... is already in use`` (issue 14), and ``..`` write into the run's
folders. The mapping here is injective:

- a name made only of ``[A-Za-z0-9_.-]`` (not starting with ``.`` or ``-``, at most 64
  characters, and not ending like a hashed name) is used as it is: ``build`` stays ``build``,
  and so do the folders of every run made before this rule;
- any other name is its readable part (unsafe runs of characters as ``_``, cut to 40) plus
  ``-`` and 12 hex digits of the SHA-256 of the exact name: ``a/b`` -> ``a_b-<hash>``.

Plain names never end in ``-`` and 12 hex digits, hashed names always do, and two hashed names
differ in their hash: no two job names share a form.
"""

from __future__ import annotations

import hashlib
import re

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_HASHED_TAIL = re.compile(r"-[0-9a-f]{12}\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
READABLE = 40


def name_form(name: str) -> str:
    """The folder and container-name form of ``name`` (see the module's docstring)."""
    if _PLAIN.fullmatch(name) and not _HASHED_TAIL.search(name):
        return name
    readable = _UNSAFE.sub("_", name)[:READABLE].lstrip(".-") or "_"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{readable}-{digest}"
