"""Images: present or pulled before anything starts, as ``--pull`` says; their facts for later.

``--pull missing`` (default) uses the local image and pulls only an absent one; ``never`` uses
local images only (no registry needed: the offline case); ``always`` pulls every image. Every
check happens in ``prepare()``, so a missing image stops the run before any job starts (exit 3)
with the image's name, the engine's reason and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from msgspec import Struct, field

from runner.config.model import DockerImage, Job
from runner.errors import EnvironmentFailure, UsageError
from runner.executors.docker.connection import Api, EngineError

PULL_POLICIES = ("missing", "never", "always")
PRESERVE_ENTRYPOINT = "com.circleci.preserve-entrypoint"  # [CUST]
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


class ImageFacts(Struct, frozen=True):
    """What the executor needs from an image's inspect data."""

    env: Mapping[str, str] = field(default_factory=dict)
    user: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ImageFacts:
        config = data.get("Config") or {}
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        return cls(env=env, user=config.get("User") or "", labels=config.get("Labels") or {})

    @property
    def preserves_entrypoint(self) -> bool:
        return str(self.labels.get(PRESERVE_ENTRYPOINT, "")).lower() == "true"


def check_policy(pull: str) -> str:
    if pull not in PULL_POLICIES:
        raise UsageError(f"--pull takes one of {', '.join(PULL_POLICIES)}, got {pull!r}")
    return pull


def images_of(jobs: Iterable[Job]) -> dict[str, DockerImage]:
    """Each image once, keeping the first entry that carries credentials."""
    found: dict[str, DockerImage] = {}
    for job in jobs:
        for image in getattr(job.executor, "images", ()):
            if image.image not in found or (image.auth and not found[image.image].auth):
                found[image.image] = image
    return found


def _expand(value: str, environ: Mapping[str, str]) -> str:
    # auth values may name variables ($DOCKERHUB_PASSWORD): the one place config interpolates [ENV]
    return _VARIABLE.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), value)


def _auth(image: DockerImage, environ: Mapping[str, str]) -> dict[str, str] | None:
    if image.auth is None:
        return None
    return {
        "username": _expand(image.auth.username, environ),
        "password": _expand(image.auth.password, environ),
    }


class _Missing(Struct, frozen=True):
    """An image that is not here and could not be pulled: reported with all the others."""

    image: str
    problem: str  # "is not on this machine (--pull never)", "cannot be pulled: <reason>"
    here: bool = False  # --pull always failed, but a local copy exists


def _report(missing: list[_Missing], policy: str) -> EnvironmentFailure:
    """One message for every missing image of the plan (issue 13): fixing one and then meeting
    the next, run after run, is what users must not live through. Public images are pulled,
    not built, so the hint says ``docker pull`` (and the mapping to an image you have)."""
    if len(missing) == 1 and missing[0].here:
        return EnvironmentFailure(
            f"image {missing[0].image} {missing[0].problem}",
            hint="the image is on this machine: use --pull missing or --pull never",
        )
    lines = [f"image {m.image} {m.problem}" for m in missing]
    head = lines[0] if len(lines) == 1 else f"{len(lines)} images are missing:\n  " + "\n  ".join(
        lines
    )
    absent = [m.image for m in missing if not m.here]
    pulls = "; ".join(f"docker pull {name}" for name in absent)
    hint = (
        f"pull {'it' if len(absent) == 1 else 'them'} where a registry answers (`{pulls}`; "
        "`docker login` first for a private registry), or run the job on an image you have "
        "(`--image FROM=TO`)"
    )
    if policy == "never":
        hint += ", or use --pull missing"
    return EnvironmentFailure(head, hint=hint)


def ensure_images(
    api: Api,
    jobs: Iterable[Job],
    policy: str,
    environ: Mapping[str, str],
    notice: Callable[[str], None],
) -> dict[str, ImageFacts]:
    """Every image of the plan, checked (and pulled, as ``policy`` says) before any start; all
    the missing ones are reported together."""
    facts: dict[str, ImageFacts] = {}
    missing: list[_Missing] = []
    for name, image in images_of(jobs).items():
        if image.aws_auth:
            notice(
                f"{name}: aws_auth is not used locally; log in to the registry with `docker login` "
                "(its stored credentials are used when pulling)"
            )
        found = _ensure(api, image, policy, environ, notice)
        if isinstance(found, _Missing):
            missing.append(found)
        else:
            facts[name] = ImageFacts.from_inspect(found)
    if missing:
        raise _report(missing, policy)
    return facts


def _ensure(
    api: Api,
    image: DockerImage,
    policy: str,
    environ: Mapping[str, str],
    notice: Callable[[str], None],
) -> Mapping[str, Any] | _Missing:
    name = image.image
    try:
        local = None if policy == "always" else api.image_config(name)
        if local is not None:
            return local
        if policy == "never":
            return _Missing(name, "is not on this machine (--pull never)")
        notice(f"pulling image {name}")
        try:
            api.pull(name, _auth(image, {**os.environ, **environ}))
        except EngineError as exc:
            present = api.image_config(name) is not None
            return _Missing(name, f"cannot be pulled: {exc.reason}", here=present)
        pulled = api.image_config(name)
    except EngineError as exc:
        raise EnvironmentFailure(f"image {name}: the Docker engine failed: {exc.reason}") from None
    if pulled is None:
        return _Missing(name, "is missing after pulling it")
    return pulled
