"""``runner run --image FROM=TO``: run another image wherever the config names one.

Configs name images a laptop may not have or cannot run (``cimg/python:3.12`` on arm64, a
private registry); act's ``-P`` answers the same need. A rule is ``FROM=TO``; ``FROM`` ending in
``*`` matches every image that starts with the rest (``cimg/python:*`` matches every tag), and a
``TO`` ending in ``*`` receives what the star matched (``cimg/python:*=python:*``). The first
matching rule wins. Primary and service containers are substituted alike; the image the config
named is kept on the model (``DockerImage.substituted``) so the plan and the job header show it.
Pure: a Config in, a Config out.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from msgspec import Struct, structs

from runner.config import model as m
from runner.errors import UsageError


class ImageRule(Struct, frozen=True):
    source: str  # without its trailing ``*`` when ``prefix``
    target: str
    prefix: bool

    def apply(self, image: str) -> str | None:
        """The image to run instead of ``image``, or None when this rule does not match."""
        if not self.prefix:
            return self.target if image == self.source else None
        if not image.startswith(self.source):
            return None
        if self.target.endswith("*"):
            return self.target[:-1] + image[len(self.source):]
        return self.target


def parse_rules(texts: Iterable[str]) -> tuple[ImageRule, ...]:
    rules = []
    for text in texts:
        source, sep, target = text.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target or source == "*":
            raise UsageError(
                f"--image takes FROM=TO (FROM may end in '*'), got {text!r}",
                hint="for example --image 'cimg/python:*=python:*'",
            )
        prefix = source.endswith("*")
        if "*" in source[:-1] or "*" in target[:-1] or (target.endswith("*") and not prefix):
            raise UsageError(
                f"--image {text!r}: '*' may only end FROM, and end TO when FROM ends in one"
            )
        rules.append(ImageRule(source[:-1] if prefix else source, target, prefix))
    return tuple(rules)


def substitute_image(image: str, rules: tuple[ImageRule, ...]) -> str | None:
    for rule in rules:
        target = rule.apply(image)
        if target is not None:
            return target
    return None


def substitute_images(config: m.Config, rules: tuple[ImageRule, ...]) -> m.Config:
    """The config with every docker image of every job replaced by the first matching rule."""
    if not rules:
        return config
    jobs = {name: _job(job, rules) for name, job in config.jobs.items()}
    return structs.replace(config, jobs=MappingProxyType(jobs))


def _job(job: m.Job, rules: tuple[ImageRule, ...]) -> m.Job:
    executor = job.executor
    if not isinstance(executor, m.DockerExecutor):
        return job
    images = tuple(_image(image, rules) for image in executor.images)
    return structs.replace(job, executor=m.DockerExecutor(images=images))


def _image(image: m.DockerImage, rules: tuple[ImageRule, ...]) -> m.DockerImage:
    target = substitute_image(image.image, rules)
    if target is None or target == image.image:
        return image
    return structs.replace(image, image=target, substituted=image.image)


def image_text(image: m.DockerImage) -> str:
    """How the plan and the job header name an image: ``python:3.12 (for cimg/python:3.12)``."""
    if image.substituted is None:
        return image.image
    return f"{image.image} (for {image.substituted})"


def substitutions(job: m.Job | None) -> tuple[str, ...]:
    """The substituted images of a job, as :func:`image_text` writes them (for its header)."""
    if job is None or not isinstance(job.executor, m.DockerExecutor):
        return ()
    return tuple(image_text(i) for i in job.executor.images if i.substituted is not None)
