"""save_cache / restore_cache [CR][CACHE] on every executor, and the store's own rules."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import threading
import uuid
from pathlib import Path

import zstandard

from runner.store.caches import CacheStore
from tests.archive.archives import M, gz, tar_bytes, zst
from tests.support import make_project, run_in_process
from tests.targets import Target

LOCK = "left-pad==1.3.0\n"
KEY = "v1-main-" + base64.b64encode(hashlib.sha256(LOCK.encode()).digest()).decode()


def entries(state: Path) -> list[Path]:
    folder = state / "caches" / "entries"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_save_and_restore_across_jobs(target: Target, tmp_path: Path) -> None:
    absolute = str(tmp_path / f"absolute-{uuid.uuid4().hex[:8]}")  # in the node: any absolute path
    project = target.project(tmp_path / "p", f"""
        version: 2.1
        jobs:
          save:
            EXECUTOR
            parallelism: 2
            steps:
              - checkout
              - run: |
                  mkdir -p deps/bin ~/.cache/tool {absolute}
                  echo "node $CIRCLE_NODE_INDEX" > deps/who.txt
                  ln -s /usr/bin/env deps/bin/python
                  echo tool > ~/.cache/tool/t.txt
                  echo abs > {absolute}/a.txt
              - save_cache:
                  key: v1-{{{{ .Branch }}}}-{{{{ checksum "lock.txt" }}}}
                  paths:
                    - deps
                    - ~/.cache/tool
                    - {absolute}
                    - missing-dir
          restore:
            EXECUTOR
            steps:
              - checkout
              - run: rm -rf {absolute}  # the machine executor shares it with the save job
              - restore_cache:
                  keys:
                    - nomatch-{{{{ .Branch }}}}-
                    - v1-{{{{ .Branch }}}}-
              - run: cat deps/who.txt && readlink deps/bin/python && cat ~/.cache/tool/t.txt {absolute}/a.txt
              - save_cache:
                  key: v1-{{{{ .Branch }}}}-{{{{ checksum "lock.txt" }}}}
                  paths: [deps]
        workflows:
          w:
            jobs: [save, {{restore: {{requires: [save]}}}}]
    """, {"lock.txt": LOCK})
    run = target.run(project)
    assert run.result is not None and run.result.exit_code == 0, run.output()
    saved = run.output("save")
    # two nodes save one key at once: exactly one cache is stored, the first writer's
    assert saved.count(f"Stored Cache to {KEY}") == 1
    assert saved.count(f"Skipping cache generation, cache already exists for key: {KEY}") == 1
    assert any(line.startswith("Warning: could not find path ") for line in saved)
    state = Path(os.environ["RUNNER_STATE_DIR"])
    assert len(entries(state)) == 1 and not list((state / "caches" / "tmp").iterdir())

    restored = run.output("restore")
    assert "No cache is found for key: nomatch-main-" in restored
    found = restored[restored.index("No cache is found for key: nomatch-main-") + 1]
    assert found.startswith("Found a cache from build ") and found.endswith(f" at {KEY}")
    start = restored.index("Unarchiving cache...") + 1
    who, link, tool, absolute_file = restored[start : start + 4]
    assert who in ("node 0", "node 1")
    assert (link, tool, absolute_file) == ("/usr/bin/env", "tool", "abs")
    assert restored[-2:] == [
        f"Skipping cache generation, cache already exists for key: {KEY}",
        restored[-1],
    ] and restored[-1].startswith("Found one created at ")


def entry_of(state: Path, key: str) -> Path:
    return next(p for p in entries(state) if json.loads((p / "manifest.json").read_text())["key"] == key)


def tamper(state: Path, key: str, data: bytes | None, name: str | None = None) -> None:
    """Replace a stored cache's first archive: ``data`` with a matching digest (an archive
    crafted inside the store, kept as ``name`` if given), or None to cut the file short (a
    digest that no longer matches)."""
    folder = entry_of(state, key)
    manifest = json.loads((folder / "manifest.json").read_text())
    archive = folder / manifest["paths"][0]["file"]
    if data is None:
        archive.write_bytes(archive.read_bytes()[:-30])
        return
    archive.unlink()
    archive = archive.with_name(name or archive.name)
    archive.write_bytes(data)
    manifest["paths"][0].update(
        file=archive.name, sha256=hashlib.sha256(data).hexdigest(), size=len(data)
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))


def stored_tar(state: Path, key: str) -> bytes:
    """The tar stream runner stored under ``key``: zstd-compressed, as it is written now."""
    folder = entry_of(state, key)
    data = (folder / json.loads((folder / "manifest.json").read_text())["paths"][0]["file"]).read_bytes()
    assert data[:4] == b"\x28\xb5\x2f\xfd", "not a zstd frame"
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def test_hostile_or_damaged_caches_are_refused_and_removed(target: Target, tmp_path: Path) -> None:
    state = Path(os.environ["RUNNER_STATE_DIR"])
    config = """
        version: 2.1
        jobs:
          save:
            EXECUTOR
            steps:
              - run: mkdir -p deps && echo ok > deps/ok
              - save_cache: {key: hostile, paths: [deps]}
              - save_cache: {key: damaged, paths: [deps]}
          hostile:
            EXECUTOR
            steps:
              - restore_cache: {key: hostile}
              - run: {command: 'ls deps 2>/dev/null || echo "nothing restored"', when: always}
          damaged:
            EXECUTOR
            steps:
              - restore_cache: {key: damaged}
              - run: {command: 'ls deps 2>/dev/null || echo "nothing restored"', when: always}
    """
    project = target.project(tmp_path / "p", config)
    first = target.run(project, jobs=("save",))
    assert first.result is not None and first.result.exit_code == 0, first.output()
    tamper(state, "hostile", gz(tar_bytes(M("deps/", kind="dir"), M("deps/ok", b"1"),
                                           M("../../evil", b"x"))))  # fmt: skip
    tamper(state, "damaged", None)
    second = target.run(project, jobs=("hostile", "damaged"))
    hostile = second.step("Restoring Cache", job="hostile").outcome
    assert hostile.status.value == "failed"
    assert "refused archive member '../../evil': '..' in its path" in hostile.message
    damaged = second.step("Restoring Cache", job="damaged").outcome
    assert damaged.status.value == "failed" and "is damaged" in damaged.message
    assert second.output("hostile")[-1] == "nothing restored"  # all or nothing
    assert second.output("damaged")[-1] == "nothing restored"
    assert entries(state) == []  # removed: the next save stores them again


def test_keys_that_cannot_be_computed_skip_the_cache_step_and_the_job_goes_on(
    tmp_path: Path,
) -> None:
    # CircleCI prints "error computing cache key: ..." and the job goes on (issue 15, item 6):
    # the circleci/python orb's key checksums ~/.pyenv/version, which an image may lack.
    project = make_project(tmp_path / "p", """
        version: 2.1
        jobs:
          restore:
            machine: true
            steps:
              - restore_cache: {key: 'never-saved-'}
              - restore_cache: {key: 'v1-{{ .Brnch }}'}
              - restore_cache:
                  keys: ['v1-{{ checksum "gone/version" }}', 'never-saved-either-']
              - run: echo after-restore
          save:
            machine: true
            steps:
              - save_cache: {key: 'v1-{{ checksum "nope.lock" }}', paths: [.]}
              - run: echo after-save
    """)
    run = run_in_process(project, jobs=("restore", "save"))
    assert run.result is not None and run.result.exit_code == 0
    missing, bad, checksum, after = run.steps("restore")
    assert [s.outcome.status.value for s in (missing, bad, checksum, after)] == ["passed"] * 4
    out = run.output("restore")
    assert "No cache is found for key: never-saved-" in out
    assert bad.outcome.message == "skipped: error computing cache key"
    assert any(line.startswith("error computing cache key: cache key 'v1-{{ .Brnch }}'")
               and "did you mean '.Branch'" in line for line in out)
    assert any(line.startswith(
        'error computing cache key: template: cacheKey:1:6: executing "cacheKey" at '
        '<checksum "gone/version">: error calling checksum: open /')
        and line.endswith("/project/gone/version: no such file or directory") for line in out)
    assert "No cache is found for key: never-saved-either-" in out  # the next key is tried
    assert checksum.outcome.message == "no cache found"
    assert "after-restore" in out
    save, after_save = run.steps("save")
    assert save.outcome.status.value == "passed"
    assert save.outcome.message == "skipped: error computing cache key"
    assert any("executing \"cacheKey\" at <checksum \"nope.lock\">: error calling checksum: open "
               in line and line.endswith("/project/nope.lock: no such file or directory")
               for line in run.output("save"))
    assert after_save.outcome.status.value == "passed"
    assert entries(Path(os.environ["RUNNER_STATE_DIR"])) == []


def test_the_most_recent_prefix_match_wins_even_over_an_exact_one(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "caches")
    for key in ("deps-a", "deps-ab", "deps-b"):
        pending = store.begin()
        pending.add(f"~/{key}", [tar_bytes(M(f"{key}/f", key.encode()))])
        store.publish(pending, key=key, build_num=1, job="j", run_id="1")
    found = store.find("deps-a")
    assert found is not None and found.key == "deps-ab"  # newer than the exact "deps-a"
    assert store.find("deps-") is not None and store.find("deps-").key == "deps-b"  # type: ignore[union-attr]
    assert store.find("other") is None


def test_first_writer_wins_when_nodes_publish_one_key_at_once(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "caches")
    results: list[bool] = []
    ready = threading.Barrier(6)

    def save(i: int) -> None:
        pending = store.begin()
        pending.add("~/d", [tar_bytes(M("d/who", str(i).encode()))])
        ready.wait()
        _entry, won = store.publish(pending, key="race", build_num=i, job="j", run_id="1")
        results.append(won)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert len(list((tmp_path / "caches" / "entries").iterdir())) == 1
    assert list((tmp_path / "caches" / "tmp").iterdir()) == []
    # the one entry is whole: one zstd archive, verified and readable, of one writer
    entry = store.get("race")
    assert entry is not None and [p.archive.file for p in entry.paths] == ["0.tar.zst"]
    stream = io.BytesIO(b"".join(store.open(entry, entry.paths[0])))
    with tarfile.open(fileobj=stream) as archive:
        who = archive.extractfile("d/who")
        assert who is not None and who.read() == str(entry.build_num).encode()
    entry = store.get("race")
    assert entry is not None
    assert b"".join(store.open(entry, entry.paths[0]))  # complete and verified


def test_gzip_caches_of_earlier_versions_restore_and_damaged_zstd_is_refused_whole(
    target: Target, tmp_path: Path
) -> None:
    """Issue 17: caches are zstd now; a gzip cache (``0.tar.gz``, as runner wrote before) still
    restores, and a zstd archive cut short or changed inside the store (its digest made to
    match, so only zstd's own checks can tell) is refused, with nothing of it restored."""
    state = Path(os.environ["RUNNER_STATE_DIR"])
    restore = """
          KEY:
            EXECUTOR
            steps:
              - restore_cache: {key: KEY}
              - run: {command: 'cat deps/a/one deps/two 2>/dev/null || echo "nothing restored"', when: always}
    """
    project = target.project(tmp_path / "p", """
        version: 2.1
        jobs:
          save:
            EXECUTOR
            steps:
              - run: mkdir -p deps/a && echo one > deps/a/one && echo two > deps/two
              - save_cache: {key: old, paths: [deps]}
              - save_cache: {key: cut, paths: [deps]}
              - save_cache: {key: changed, paths: [deps]}
    """ + "".join(restore.replace("KEY", key) for key in ("old", "cut", "changed")))
    first = target.run(project, jobs=("save",))
    assert first.result is not None and first.result.exit_code == 0, first.output()
    whole = stored_tar(state, "old")
    tamper(state, "old", gz(whole), name="0.tar.gz")
    tamper(state, "cut", zst(whole)[: len(zst(whole)) // 2])
    changed = bytearray(zst(whole))
    changed[len(changed) // 2] ^= 0x55
    tamper(state, "changed", bytes(changed))

    second = target.run(project, jobs=("old", "cut", "changed"))
    assert second.step("Restoring Cache", job="old").outcome.status.value == "passed"
    assert second.output("old")[-2:] == ["one", "two"]
    for key, why in (("cut", "truncated"), ("changed", "corrupt compressed data")):
        outcome = second.step("Restoring Cache", job=key).outcome
        assert outcome.status.value == "failed" and why in outcome.message, outcome.message
        assert second.output(key)[-1] == "nothing restored"
    assert [json.loads((p / "manifest.json").read_text())["key"] for p in entries(state)] == ["old"]
