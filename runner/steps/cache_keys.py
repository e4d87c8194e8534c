"""Cache key templates: ``v1-{{ .Branch }}-{{ checksum "package-lock.json" }}`` [CR][CACHE].

Rendered when the step runs. ``checksum`` is the base64 of the SHA-256 of the file as it is in
the node (path relative to the working directory, or absolute). ``.Environment.X`` renders a
variable of the node's environment (CircleCI allows only its own and context variables; a
missing one renders ``<no value>``, as Go templates do). ``arch`` is ``arch1/<os>-<cpu>``, the
shape of CircleCI's value (``arch1/linux-amd64-6_85``) without the CPU model part.
"""

from __future__ import annotations

import platform
import re
import time
from collections.abc import Callable, Mapping

from msgspec import Struct

from runner.errors import RunnerError, did_you_mean

MAX_KEY = 900  # characters [CACHE]
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
_CHECKSUM = re.compile(r'checksum\s+"((?:[^"\\]|\\.)*)"\Z')
_ENVIRONMENT = re.compile(r"\.Environment\.([A-Za-z_][A-Za-z0-9_]*)\Z")
KNOWN = (".Branch", ".Revision", ".BuildNum", ".CheckoutKey", ".Environment.NAME",
         'checksum "FILE"', "epoch", "arch")  # fmt: skip
_CPU = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


class CacheKeyError(RunnerError):
    """A cache key template that cannot be rendered."""


class KeyFacts(Struct, frozen=True, kw_only=True):
    branch: str
    revision: str
    build_num: int
    environment: Mapping[str, str]
    checksum: Callable[[str], str]  # file in the node -> base64 SHA-256
    clock: Callable[[], float] = time.time


def arch() -> str:
    machine = platform.machine().lower()
    return f"arch1/{platform.system().lower()}-{_CPU.get(machine, machine)}"


def render_key(template: str, facts: KeyFacts) -> str:
    """The key for ``template``, or CacheKeyError naming what is wrong with it."""
    if "{{" in _ACTION.sub("", template):
        raise CacheKeyError(f"cache key {template!r}: '{{{{' without a closing '}}}}'")
    key = _ACTION.sub(lambda match: _action(match, template, facts), template)
    if not key.strip():
        raise CacheKeyError(f"cache key {template!r} renders to nothing")
    if len(key) > MAX_KEY:
        raise CacheKeyError(
            f"cache key {template!r} renders to {len(key)} characters; CircleCI allows {MAX_KEY}"
        )
    return key


def _go_error(template: str, start: int, action: str, reason: str) -> str:
    """The error as Go's text/template words it, which CircleCI's agent prints after
    ``error computing cache key:`` (a public report, jubilee-works/timetree-sdk-js#247:
    ``template: cacheKey:1:30: executing "cacheKey" at <checksum ".node-version">: error
    calling checksum: open /home/circleci/...: no such file or directory``). The column is the
    action's byte offset in its line, as ``parse.Tree.ErrorContext`` counts it."""
    before = template[:start]
    line = before.count("\n") + 1
    column = start if line == 1 else start - before.rfind("\n") - 1
    return (f'template: cacheKey:{line}:{column}: executing "cacheKey" at <{action}>: '
            f"error calling checksum: {reason}")


def _action(match: re.Match[str], template: str, facts: KeyFacts) -> str:
    text = match.group(1)
    action = text.strip()
    simple: dict[str, Callable[[], str]] = {
        ".Branch": lambda: facts.branch,
        ".Revision": lambda: facts.revision,
        ".BuildNum": lambda: str(facts.build_num),
        ".CheckoutKey": lambda: "",  # no deploy key exists locally
        "epoch": lambda: str(int(facts.clock())),
        "arch": arch,
    }
    if action in simple:
        return simple[action]()
    if found := _ENVIRONMENT.match(action):
        return facts.environment.get(found.group(1), "<no value>")
    if found := _CHECKSUM.match(action):
        name = found.group(1).replace('\\"', '"').replace("\\\\", "\\")
        try:
            return facts.checksum(name)
        except RunnerError as exc:
            start = match.start(1) + len(text) - len(text.lstrip())
            raise CacheKeyError(_go_error(template, start, action, exc.message)) from None
    if action.startswith("checksum"):
        usage = '{{ checksum "FILE" }}'
        raise CacheKeyError(f"cache key {template!r}: checksum takes one quoted file: {usage}")
    hint = did_you_mean(action, [k for k in KNOWN if " " not in k])
    raise CacheKeyError(
        f"cache key {template!r}: unknown template action '{{{{ {action} }}}}'",
        hint=(hint + "; " if hint else "") + "known: " + ", ".join(KNOWN),
    )
