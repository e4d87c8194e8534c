"""The docker executor's pure parts: no engine needed."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from runner.archive import ArchiveError
from runner.executors.docker import labels
from runner.executors.docker.archives import owned_archive, project_tar
from runner.executors.docker.connection import reason_of
from runner.executors.docker.remote import plan
from runner.executors.docker.resources import LimitPolicy


def members(data: bytes) -> list[tuple[str, str, int, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [
            (m.name, "d" if m.isdir() else "l" if m.issym() else "f", m.uid, m.gid, m.mode)
            for m in archive
        ]


def test_project_tar_owns_everything_and_creates_parents(tmp_path: Path) -> None:
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / "a.sh").write_text("echo a\n")
    os.chmod(tmp_path / "src" / "deep" / "a.sh", 0o755)
    (tmp_path / "big").write_bytes(b"x" * 3_000_001)
    (tmp_path / "link").symlink_to("src/deep/a.sh")
    names = ["src/deep/a.sh", "big", "link", "gone-since-listing"]
    data = b"".join(project_tar(tmp_path, names, "/home/u/project", 1000, 1001))
    listed = members(data)
    assert [m[:2] for m in listed] == [
        ("home/u/project", "d"),
        ("home/u/project/src", "d"),
        ("home/u/project/src/deep", "d"),
        ("home/u/project/src/deep/a.sh", "f"),
        ("home/u/project/big", "f"),
        ("home/u/project/link", "l"),
    ]
    assert {(uid, gid) for _, _, uid, gid, _ in listed} == {(1000, 1001)}
    assert listed[3][4] == 0o755
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        big = archive.extractfile("home/u/project/big")
        assert big is not None and len(big.read()) == 3_000_001


def _tar(*entries: tarfile.TarInfo, data: bytes = b"") -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for info in entries:
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    out.seek(0)
    return out


def test_owned_archive_moves_and_reowns_members() -> None:
    info = tarfile.TarInfo("cache/file")
    info.size, info.uid, info.gid, info.uname = 3, 0, 0, "root"
    link = tarfile.TarInfo("cache/abs-link")
    link.type, link.linkname = tarfile.SYMTYPE, "/usr/bin/python3"  # caches keep these
    spool = owned_archive(_tar(info, link, data=b"abc"), "/home/u/.cache", 1000, 1000)
    assert [m[:4] for m in members(spool.read())] == [
        ("home/u/.cache", "d", 1000, 1000),
        ("home/u/.cache/cache/file", "f", 1000, 1000),
        ("home/u/.cache/cache/abs-link", "l", 1000, 1000),
    ]


def test_owned_archive_falls_back_to_pax_and_moves_hard_links() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in ("ünïcode.txt", "d" * 120 + "/" + "e" * 20):
            info = tarfile.TarInfo(name)
            info.size = 2
            archive.addfile(info, io.BytesIO(b"hi"))
        hard = tarfile.TarInfo("hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "ünïcode.txt"
        archive.addfile(hard)
    out.seek(0)
    spool = owned_archive(out, "/home/u/dest", 1000, 1000)
    with tarfile.open(fileobj=spool) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == [
            "home/u/dest", "home/u/dest/ünïcode.txt", "home/u/dest/" + "d" * 120 + "/" + "e" * 20,
            "home/u/dest/hard",
        ]  # fmt: skip
        assert members[3].islnk() and members[3].linkname == "home/u/dest/ünïcode.txt"
        assert {(m.uid, m.gid) for m in members} == {(1000, 1000)}
        handle = archive.extractfile(members[1])
        assert handle is not None and handle.read() == b"hi"


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b"])
def test_owned_archive_refuses_hostile_names(name: str) -> None:
    info = tarfile.TarInfo(name)
    info.size = 1
    with pytest.raises(ArchiveError):
        owned_archive(_tar(info, data=b"x"), "/dest", 0, 0)


def test_owned_archive_refuses_writing_through_a_link() -> None:
    link = tarfile.TarInfo("lib")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc"
    inner = tarfile.TarInfo("lib/passwd")
    inner.size = 1
    with pytest.raises(ArchiveError, match="through the link"):
        owned_archive(_tar(link, inner, data=b"x"), "/dest", 0, 0)


def test_limits_cap_cpus_and_name_unknown_classes() -> None:
    notes: list[str] = []
    limits = LimitPolicy().limits_for("2xlarge+", 8, notes.append)
    assert (limits.cpus, limits.memory, limits.pids) == (8.0, 40 * 1024**3, 4096)
    assert notes == ["resource_class 2xlarge+ asks for 20 CPUs; the Docker engine has 8: using 8"]
    assert LimitPolicy().limits_for(None, 8, notes.append).host_config() == {
        "pids_limit": 4096, "nano_cpus": 2_000_000_000,
        "mem_limit": 4 * 1024**3, "memswap_limit": 4 * 1024**3,
    }
    assert LimitPolicy(enabled=False).limits_for("large", 8, notes.append).host_config() == {
        "pids_limit": 4096
    }


def test_remote_docker_plans(tmp_path: Path) -> None:
    sock = tmp_path / "engine.sock"
    sock.touch()
    unix = plan({"DOCKER_HOST": f"unix://{sock}"}, allowed=True)
    assert unix.docker_host == "unix:///var/run/docker.sock"
    assert unix.host_config()["binds"] == {str(sock): {"bind": "/var/run/docker.sock", "mode": "rw"}}
    tcp = plan({"DOCKER_HOST": "tcp://localhost:2375"}, allowed=True)
    assert tcp.docker_host == "tcp://host.docker.internal:2375"
    assert tcp.extra_hosts == {"host.docker.internal": "host-gateway"}
    assert "unix or tcp only" in (plan({"DOCKER_HOST": "ssh://x@y"}, allowed=True).refusal() or "")
    refused = plan({}, allowed=False)
    assert refused.host_config() == {} and "--no-remote-docker" in (refused.refusal() or "")
    missing = plan({"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}, allowed=True)
    assert missing.host_config() == {} and "not reachable" in (missing.refusal() or "")


def test_names_never_collide_and_owners_are_checked() -> None:
    a = labels.container_name("state.1", "wf/build job", 0, labels.new_token(), "primary")
    b = labels.container_name("state.1", "wf/build job", 0, labels.new_token(), "primary")
    # the job's part is its injective form: readable part plus a hash of the exact name
    assert a != b and a.startswith("runner-state.1-wf_build_job-9582019f7c25-0-")
    mine = labels.owner_labels()
    assert labels.owner_alive(mine) is True
    assert labels.owner_alive({**mine, labels.PID_START: "1"}) is False  # a reused PID
    assert labels.owner_alive({**mine, labels.HOST: "elsewhere"}) is None
    assert labels.state_of("proj-1234abcd.17") == "proj-1234abcd"


def test_engine_reasons_keep_the_os_words() -> None:
    wrapped = Exception(
        "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
    )
    assert reason_of(wrapped) == "No such file or directory"
    refused = Exception("Max retries exceeded (Caused by NewConnectionError('x: [Errno 111] "
                        "Connection refused'))")
    assert reason_of(refused) == "Connection refused"


class FakeApi:
    """The two calls the reaper makes, over a list of containers."""

    def __init__(self, found: list[dict[str, object]]) -> None:
        self.found = found
        self.removed: list[str] = []

    def containers(self, label: str) -> list[dict[str, object]]:
        return [c for c in self.found if label in c["Labels"]]  # type: ignore[operator]

    def remove(self, cid: str) -> None:
        self.removed.append(cid)


def test_reap_dead_removes_only_containers_of_dead_runners() -> None:
    from runner.executors.docker_cleanup import reap_dead

    alive = labels.owner_labels()
    dead = {**alive, labels.PID_START: "1"}
    box = {labels.RUN: "proj.3", labels.ROLE: "primary"}
    api = FakeApi([
        {"Id": "live", "Names": ["/a"], "Labels": {**alive, **box}},
        {"Id": "dead", "Names": ["/b"], "Labels": {**dead, **box}},
        {"Id": "kept", "Names": ["/c"], "Labels": {**dead, **box, labels.KEEP: "1"}},
        {"Id": "other-host", "Names": ["/d"], "Labels": {**dead, **box, labels.HOST: "x"}},
    ])
    lines = reap_dead(api)  # type: ignore[arg-type]
    assert api.removed == ["dead"]
    assert lines == [
        "removed 1 container(s) left by run(s) proj.3, whose runner process is gone"
    ]


class FakeImages:
    """``image_config`` and ``pull`` over a set of local images; pulls fail unless allowed."""

    def __init__(self, local: set[str], registry: set[str] | None = None) -> None:
        self.local = set(local)
        self.registry = registry or set()
        self.pulls: list[tuple[str, object]] = []

    def image_config(self, image: str) -> dict[str, object] | None:
        if image not in self.local:
            return None
        return {"Config": {"Env": ["PATH=/bin", "HOME=/home/x"], "User": "x",
                           "Labels": {"com.circleci.preserve-entrypoint": "true"}}}

    def pull(self, image: str, auth: object) -> None:
        from runner.executors.docker.connection import EngineError

        self.pulls.append((image, auth))
        if image not in self.registry:
            raise EngineError("no such registry")
        self.local.add(image)


def _jobs(*images: str, auth: bool = False) -> list[object]:
    from runner.config import model as m

    entries = tuple(
        m.DockerImage(
            image=name, auth=m.RegistryAuth(username="me", password="$TOKEN") if auth else None
        )
        for name in images
    )
    return [m.Job(name="j", executor=m.DockerExecutor(images=entries), steps=())]


def test_pull_policies_and_credentials() -> None:
    from runner.errors import EnvironmentFailure
    from runner.executors.docker.images import ensure_images

    notes: list[str] = []
    api = FakeImages(local={"here:1"}, registry={"remote:1"})
    jobs = _jobs("here:1", "remote:1", auth=True)
    facts = ensure_images(api, jobs, "missing", {"TOKEN": "s3cret"}, notes.append)  # type: ignore[arg-type]
    # only the absent image is pulled, with the credentials of `auth:` ($VARs expanded) [ENV]
    assert api.pulls == [("remote:1", {"username": "me", "password": "s3cret"})]
    assert notes == ["pulling image remote:1"]
    assert facts["here:1"].env["HOME"] == "/home/x" and facts["here:1"].preserves_entrypoint
    with pytest.raises(EnvironmentFailure, match=r"gone:1 is not on this machine \(--pull never"):
        ensure_images(api, _jobs("gone:1"), "never", {}, notes.append)  # type: ignore[arg-type]
    api.pulls.clear()
    api.registry = {"here:1", "remote:1"}
    ensure_images(api, _jobs("here:1", "remote:1"), "always", {}, notes.append)  # type: ignore[arg-type]
    assert [image for image, _ in api.pulls] == ["here:1", "remote:1"]  # even the local one
    offline = FakeImages(local={"here:1"})
    with pytest.raises(EnvironmentFailure) as failure:
        ensure_images(offline, _jobs("here:1"), "always", {}, notes.append)  # type: ignore[arg-type]
    assert failure.value.hint == "the image is on this machine: use --pull missing or --pull never"


class _Removing:
    """docker-py's low-level client, as seen while another client removes a container."""

    def __init__(self, answers_before_gone: int) -> None:
        self.inspections = answers_before_gone

    def remove_container(self, cid: str, **kw: object) -> None:
        raise _engine_error(409, "removal of container x is already in progress")

    def inspect_container(self, cid: str) -> dict[str, str]:
        if self.inspections == 0:
            raise _engine_error(404, "No such container: x")
        self.inspections -= 1
        return {"Id": cid}


def _engine_error(status: int, text: str) -> Exception:
    import docker.errors
    import requests

    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(text, response=response, explanation=text)


def test_a_removal_already_in_progress_is_waited_for() -> None:
    from runner.executors.docker.connection import Api

    low = _Removing(answers_before_gone=3)
    api = Api.__new__(Api)
    api.api = low
    api.remove("c1")  # returns only once the container is gone
    assert low.inspections == 0


def test_the_step_wrappers_end_notes() -> None:
    from runner.executors.docker.process import EndNotes

    assert EndNotes.parse(None) == EndNotes()
    assert EndNotes.parse("") == EndNotes()
    notes = EndNotes.parse("oom\nhalt\npid 7: sleep 300\npid 8: sh -c x\nand 3 more\n")
    assert notes.oom and notes.halt and not notes.no_cwd
    assert notes.leftovers == ("pid 7: sleep 300", "pid 8: sh -c x", "and 3 more")
    assert EndNotes.parse("nocwd\n").no_cwd
