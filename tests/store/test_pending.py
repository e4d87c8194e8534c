"""A cache or a workspace layer being written (runner.store.pending): complete once published,
and nothing of it left when its writing ends early, by a bad archive or an interrupt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.archive import ArchiveError
from runner.store.caches import CacheStore
from runner.store.workspaces import WorkspaceStore
from tests.archive.archives import M, tar_bytes


def _tar() -> list[bytes]:
    return [tar_bytes(M("app/a.txt", b"a"))]


def _broken() -> Iterator[bytes]:
    yield b"this is not a tar archive" * 40


def test_a_cache_cut_short_leaves_neither_its_folder_nor_its_lock(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "caches")
    pending = store.begin()

    def interrupted_after_one_path() -> None:
        with pending.discarded_on_error():
            pending.add("~/app", _tar())
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_after_one_path()
    assert sorted((tmp_path / "caches" / "tmp").iterdir()) == []
    assert store.entries() == []


def test_a_layer_with_a_bad_archive_is_dropped_and_known_missing(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "workspace")
    pending = store.begin("build", 0, 2)
    with pytest.raises(ArchiveError), pending.discarded_on_error():
        pending.add("app", _broken())
    assert not pending.folder.exists()
    layers, problems = store.layers_of("build")
    assert layers == [] and problems == ["0-002 (its persist_to_workspace did not finish)"]


def test_parts_are_numbered_in_order_and_published_whole(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "caches")
    pending = store.begin()
    with pending.discarded_on_error():
        first = pending.add("~/one", _tar())
        second = pending.add("/abs/two", _tar())
    entry, won = store.publish(pending, key="k", build_num=3, job="build", run_id="r")
    assert won and [p.target for p in entry.paths] == ["~/one", "/abs/two"]
    assert [first.archive.file, second.archive.file] == ["0.tar.zst", "1.tar.zst"]
    stored = store.get("k")
    assert stored is not None
    assert [(p.target, p.archive.file) for p in stored.paths] == [
        ("~/one", "0.tar.zst"), ("/abs/two", "1.tar.zst")
    ]
