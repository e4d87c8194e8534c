"""Telling a missing file from a missing container, or a missing engine, while files are read.

The engine answers 404 both for a path that is not in a container and for a container that is
not there any more, and a broken connection in the middle of an archive (``IncompleteRead``)
says nothing about why. A step that reads files (``save_cache``, ``persist_to_workspace``,
``store_artifacts``) must say what really happened (issue 13): the engine went away, or the
container did (its node can run nothing more: :class:`NodeLost`, exit 3), or the file is
missing. One ``inspect`` of the container, only after something failed, tells them apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from runner.errors import EnvironmentFailure, NodeLost
from runner.executors.docker.connection import Api, EngineError, engine_address


def check_alive(api: Api, cid: str, environ: Mapping[str, str], doing: str) -> None:
    """Raise :class:`NodeLost` when the engine or the container is gone; else return."""
    try:
        api.inspect(cid)
    except EngineError as exc:
        if exc.not_found:
            raise NodeLost(
                f"the container went away while {doing} (removed by someone else?)"
            ) from None
        if exc.status is None:
            raise NodeLost(
                f"lost the Docker engine at {engine_address(environ)} while {doing}: {exc.reason}"
            ) from None


def watched(
    api: Api, cid: str, environ: Mapping[str, str], doing: str, stream: Iterator[bytes]
) -> Iterator[bytes]:
    """``stream``, with a break in the middle explained (the consumer discards what it has)."""
    try:
        yield from stream
    except EngineError as exc:
        check_alive(api, cid, environ, doing)
        raise EnvironmentFailure(
            f"the engine connection broke while {doing}: {exc.reason}"
        ) from None
