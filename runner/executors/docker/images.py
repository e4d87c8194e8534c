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
from dataclasses import dataclass, field
from typing import Any

from runner.config.model import DockerImage, Job
from runner.errors import EnvironmentFailure, UsageError
from runner.executors.docker.connection import Api, EngineError

PULL_POLICIES = ("missing", "never", "always")
PRESERVE_ENTRYPOINT = "com.circleci.preserve-entrypoint"  # [CUST]
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class ImageFacts:
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


def _hint(image: str) -> str:
    return (
        f"build it (`docker build -t {image} .`) or pull it yourself; "
        "--pull never runs with local images only"
    )


def ensure_images(
    api: Api,
    jobs: Iterable[Job],
    policy: str,
    environ: Mapping[str, str],
    notice: Callable[[str], None],
) -> dict[str, ImageFacts]:
    facts: dict[str, ImageFacts] = {}
    for name, image in images_of(jobs).items():
        if image.aws_auth:
            notice(
                f"{name}: aws_auth is not used locally; log in to the registry with `docker login` "
                "(its stored credentials are used when pulling)"
            )
        facts[name] = ImageFacts.from_inspect(_ensure(api, image, policy, environ, notice))
    return facts


def _ensure(
    api: Api,
    image: DockerImage,
    policy: str,
    environ: Mapping[str, str],
    notice: Callable[[str], None],
) -> Mapping[str, Any]:
    name = image.image
    try:
        local = None if policy == "always" else api.image_config(name)
        if local is not None:
            return local
        if policy == "never":
            raise EnvironmentFailure(
                f"image {name} is not on this machine (--pull never)",
                hint=f"build it (`docker build -t {name} .`) or pull it, or use --pull missing",
            )
        notice(f"pulling image {name}")
        try:
            api.pull(name, _auth(image, {**os.environ, **environ}))
        except EngineError as exc:
            present = api.image_config(name) is not None
            raise EnvironmentFailure(
                f"cannot pull image {name}: {exc.reason}",
                hint="the image is on this machine: use --pull missing or --pull never"
                if present
                else _hint(name),
            ) from None
        pulled = api.image_config(name)
    except EngineError as exc:
        raise EnvironmentFailure(f"image {name}: the Docker engine failed: {exc.reason}") from None
    if pulled is None:
        raise EnvironmentFailure(f"image {name} is missing after pulling it", hint=_hint(name))
    return pulled
