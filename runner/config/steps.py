"""Steps of a processed config, into the frozen model: every step kind of the reference [CR],
validated with its keys, shorthands normalised (``- checkout``, ``run: "cmd"``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.config import model as m
from runner.config.reader import Reader, join, kind_of
from runner.config.yaml import MDict, MList
from runner.errors import Mark, did_you_mean

RUN_KEYS = (
    "command",
    "name",
    "shell",
    "environment",
    "background",
    "working_directory",
    "no_output_timeout",
    "when",
    "max_auto_reruns",
    "auto_rerun_delay",
    "description",  # not in [CR], but CircleCI runs configs with it (facebook/react-native)
)
WHEN_VALUES = tuple(w.value for w in m.When)

# Names CircleCI shows for steps that have none [CR, UI].
DEFAULT_NAMES = {
    "checkout": "Checkout code",
    "setup_remote_docker": "Setup a remote Docker engine",
    "save_cache": "Saving Cache",
    "restore_cache": "Restoring Cache",
    "persist_to_workspace": "Persisting to Workspace",
    "attach_workspace": "Attaching Workspace",
    "store_artifacts": "Uploading artifacts",
    "store_test_results": "Uploading test results",
    "add_ssh_keys": "Installing additional ssh keys",
}
NO_ARG_STEPS = ("checkout", "setup_remote_docker", "add_ssh_keys")


def read_steps(r: Reader, node: MDict, path: str) -> tuple[m.Step, ...]:
    where = join(path, "steps")
    if "steps" not in node:
        r.problem(node.mark, path, "missing required key 'steps'")
        return ()
    steps = r.sequence(node, "steps", path, " of steps")
    if steps is None:
        return ()
    out: list[m.Step] = []
    for index, item in enumerate(steps):
        step = read_step(r, item, steps.mark_of(index), join(where, index))
        if step is not None:
            out.append(step)
    return tuple(out)


def read_step(r: Reader, item: Any, mark: Mark, path: str) -> m.Step | None:
    if isinstance(item, str):
        item = _step_kind(item)
        if item in NO_ARG_STEPS:
            return _READERS[item](r, MDict(mark), mark, join(path, item))
        if item in _READERS:
            r.problem(
                mark, path, f"step '{item}' needs its keys", f"write it as a map: {item}: ..."
            )
        else:
            r.problem(mark, path, f"unknown step '{item}'", did_you_mean(item, _READERS))
        return None
    if not isinstance(item, MDict):
        r.problem(mark, path, f"expected a step, found {kind_of(item)}")
        return None
    if len(item) != 1:
        keys = ", ".join(item)
        r.problem(
            mark,
            path,
            f"a step is a map with one key (its type); found {len(item)} keys: {keys}",
            "indent the step's keys under its type, e.g. '- run:' then 'name:' and 'command:'"
            " two spaces deeper",
        )
        return None
    written, body = next(iter(item.items()))
    where = join(path, written)
    kind = _step_kind(written)
    if kind not in _READERS:
        r.problem(
            item.key_mark_of(written),
            where,
            f"unknown step '{written}'",
            did_you_mean(written, _READERS),
        )
        return None
    body_mark = item.mark_of(written)
    if kind == "run" and not isinstance(body, MDict | MList) and body is not None:
        # ``run: <cmd>`` sets both command and name [CR]
        command = item.text(written) or ""
        return m.RunStep(name=command, command=command, mark=mark)
    if body is None and kind in NO_ARG_STEPS:
        body = MDict(body_mark)
    if not isinstance(body, MDict):
        if kind == "deploy" and isinstance(body, str):
            # [CR-2019]: the short form is refused for deploy
            r.problem(
                body_mark,
                where,
                "This type of step does not support compressed syntax",
                "write deploy:\n  command: ...",
            )
        else:
            r.problem(body_mark, where, f"expected a map of step keys, found {kind_of(body)}")
        return None
    return _READERS[kind](r, body, mark, where)


def _step_kind(written: str) -> str:
    """CircleCI 2.0 accepted hyphenated built-in step names (``add-ssh-keys``); configs use them."""
    normal = written.replace("-", "_")
    return normal if normal in _READERS else written


def _when(r: Reader, node: MDict, path: str, default: m.When = m.When.ON_SUCCESS) -> m.When:
    return m.When(r.choice(node, "when", path, WHEN_VALUES, default=default.value))


def _name(r: Reader, node: MDict, path: str, kind: str) -> str:
    return r.string(node, "name", path, default=DEFAULT_NAMES[kind]) or DEFAULT_NAMES[kind]


def _run(r: Reader, node: MDict, mark: Mark, path: str, *, deploy: bool = False) -> m.Step | None:
    r.keys(node, path, RUN_KEYS, required=("command",))
    command = r.string(node, "command", path, default=None)
    if command is None:
        return None
    reruns = r.integer(node, "max_auto_reruns", path, default=0, minimum=0, maximum=5)
    return m.RunStep(
        name=r.string(node, "name", path, default=command) or command,
        command=command,
        shell=r.string(node, "shell", path, default=None, allow_empty=False),
        environment=m.frozen_env(r.environment(node, "environment", path)),
        working_directory=r.string(node, "working_directory", path, default=None),
        background=r.boolean(node, "background", path),
        no_output_timeout=r.duration(
            node, "no_output_timeout", path, default=m.DEFAULT_NO_OUTPUT_TIMEOUT
        ),
        when=_when(r, node, path),
        deploy=deploy,
        max_auto_reruns=reruns,
        auto_rerun_delay=r.duration(node, "auto_rerun_delay", path, default=0.0),
        mark=mark,
    )


def _deploy(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    return _run(r, node, mark, path, deploy=True)


def _checkout(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step:
    r.keys(node, path, ("path", "method", "name"))
    return m.CheckoutStep(
        name=_name(r, node, path, "checkout"),
        path=r.string(node, "path", path, default=".", allow_empty=False) or ".",
        method=r.choice(node, "method", path, ("blobless", "full"), default="blobless"),
        mark=mark,
    )


def _setup_remote_docker(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step:
    r.keys(
        node,
        path,
        ("version", "docker_layer_caching", "name", "reusable", "exclusive", "prefer_same_region"),
    )
    return m.SetupRemoteDockerStep(
        name=_name(r, node, path, "setup_remote_docker"),
        version=r.string(node, "version", path, default=None),
        docker_layer_caching=r.boolean(node, "docker_layer_caching", path),
        mark=mark,
    )


def _required_strings(r: Reader, node: MDict, key: str, path: str) -> tuple[str, ...]:
    values = r.strings(node, key, path)
    if values is not None and not values:
        r.problem(node.mark_of(key), join(path, key), "must list at least one path")
    return values or ()


def _save_cache(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    r.keys(node, path, ("paths", "key", "name", "when"), required=("paths", "key"))
    key = r.string(node, "key", path, default=None, allow_empty=False)
    if key is not None and len(key) > 900:
        r.problem(
            node.mark_of("key"), join(path, "key"), "a cache key may be at most 900 characters"
        )
    paths = _required_strings(r, node, "paths", path)
    if key is None or not paths:
        return None
    return m.SaveCacheStep(
        name=_name(r, node, path, "save_cache"),
        paths=paths,
        key=key,
        when=_when(r, node, path),
        mark=mark,
    )


def _restore_cache(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    # ``paths`` belongs to save_cache; CircleCI ignores it here and real configs carry it
    # (electron/electron, nipreps/fmriprep)
    r.keys(node, path, ("key", "keys", "name", "paths"))
    keys: list[str] = []
    key = r.string(node, "key", path, default=None, allow_empty=False)
    if key is not None:
        keys.append(key)  # ``key`` is checked first [CR]
    keys.extend(r.strings(node, "keys", path) or ())
    if not keys:
        r.problem(node.mark, path, "restore_cache needs 'key' or 'keys'")
        return None
    return m.RestoreCacheStep(
        name=_name(r, node, path, "restore_cache"), keys=tuple(keys), mark=mark
    )


def _persist(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    r.keys(node, path, ("root", "paths", "name"), required=("root", "paths"))
    root = r.string(node, "root", path, default=None, allow_empty=False)
    paths = _required_strings(r, node, "paths", path)
    if root is None or not paths:
        return None
    return m.PersistToWorkspaceStep(
        name=_name(r, node, path, "persist_to_workspace"), root=root, paths=paths, mark=mark
    )


def _attach(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    r.keys(node, path, ("at", "name"), required=("at",))
    at = r.string(node, "at", path, default=None, allow_empty=False)
    if at is None:
        return None
    return m.AttachWorkspaceStep(name=_name(r, node, path, "attach_workspace"), at=at, mark=mark)


def _ignored_when(r: Reader, node: MDict, path: str, step: str) -> None:
    """``when:`` on a step that always runs: CircleCI accepts it and ignores it (issue 15:
    CircleCI-Public/circleci-demo-java-spring writes ``when: always`` on store_artifacts)."""
    if "when" in node:
        r.warn(node.key_mark_of("when"), join(path, "when"), f"'when' is ignored on {step}",
               f"{step} runs after a failed step too, as on CircleCI")


def _stored_path(r: Reader, node: MDict, path: str, step: str, *more: str) -> str | None:
    """The ``path`` of a step that stores files (its other keys: ``name``, ``when``, ``more``)."""
    _ignored_when(r, node, path, step)
    r.keys(node, path, ("path", *more, "name", "when"), required=("path",))
    return r.string(node, "path", path, default=None, allow_empty=False)


def _artifacts(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    target = _stored_path(r, node, path, "store_artifacts", "destination")
    if target is None:
        return None
    # store_artifacts runs after a failed step too [CR `when`]
    return m.StoreArtifactsStep(
        name=_name(r, node, path, "store_artifacts"),
        path=target,
        destination=r.string(node, "destination", path, default=None),
        when=m.When.ALWAYS,
        mark=mark,
    )


def _test_results(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step | None:
    target = _stored_path(r, node, path, "store_test_results")
    if target is None:
        return None
    return m.StoreTestResultsStep(
        name=_name(r, node, path, "store_test_results"),
        path=target,
        when=m.When.ALWAYS,
        mark=mark,
    )


def _ssh_keys(r: Reader, node: MDict, mark: Mark, path: str) -> m.Step:
    r.keys(node, path, ("fingerprints", "name"))
    return m.AddSshKeysStep(
        name=_name(r, node, path, "add_ssh_keys"),
        fingerprints=r.strings(node, "fingerprints", path) or (),
        mark=mark,
    )


_READERS: dict[str, Callable[[Reader, MDict, Mark, str], m.Step | None]] = {
    "run": _run,
    "deploy": _deploy,
    "checkout": _checkout,
    "setup_remote_docker": _setup_remote_docker,
    "save_cache": _save_cache,
    "restore_cache": _restore_cache,
    "persist_to_workspace": _persist,
    "attach_workspace": _attach,
    "store_artifacts": _artifacts,
    "store_test_results": _test_results,
    "add_ssh_keys": _ssh_keys,
}
STEP_KINDS = tuple(_READERS)
