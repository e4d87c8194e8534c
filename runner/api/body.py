"""Request bodies of the trigger endpoints, read as CircleCI reads them.

v1.1 takes form fields (``curl -d build_parameters[CIRCLE_JOB]=deploy``) or JSON
(``{"build_parameters": {...}, "revision": ..., "parallel": ...}``) [APIV1][ENV-2020].
Build parameter names must be ASCII letters, digits and ``_``, not starting with a digit; values
are stringified (``{"quux": 1}`` becomes the text ``{"quux": 1}``) [ENV-2020]. They only ever
reach a job as environment variables, never as shell text.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from msgspec import Struct, field

from runner.api.errors import bad_request
from runner.api.param_limits import check_sizes
from runner.environment import NAME

_FORM_PARAM = re.compile(r"build_parameters\[(?P<name>[^\]]*)\]\Z")
# runner's own rule, beyond CircleCI's: names that change how the shell or the loader of a
# machine-executor job behaves are refused, so that a leaked token cannot become host code.
RESERVED = frozenset(
    {"PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4",
     "PROMPT_COMMAND", "GLOBIGNORE", "CDPATH"}
)
MAX_PARALLEL = 100
V2_MAX_PARAMETERS, V2_MAX_KEY, V2_MAX_VALUE = 100, 128, 512  # [APIPREV][PV]


class JobTrigger(Struct, frozen=True, kw_only=True):
    job: str = "build"  # build_parameters[CIRCLE_JOB], else 'build' [APIJOB]
    build_parameters: dict[str, str] = field(default_factory=dict)
    revision: str | None = None
    parallel: int | None = None
    branch: str | None = None
    tag: str | None = None


def read_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """A body as a dict: JSON when it says so (or looks so), else form fields."""
    text = _text(body)
    if not text.strip():
        return {}
    if "json" in content_type.lower() or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise bad_request(f"malformed JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise bad_request("the JSON body must be an object")
        return data
    if "multipart/" in content_type.lower():
        raise bad_request("multipart bodies are not supported: send form fields with -d")
    return _form(text)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8 text") from None


def _form(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise bad_request("malformed form body: expected name=value pairs joined by '&'") from None
    out: dict[str, Any] = {}
    params: dict[str, str] = {}
    for key, value in pairs:
        match = _FORM_PARAM.match(key)
        if match:
            params[match.group("name")] = value
        elif key.startswith("build_parameters"):
            raise bad_request(f"malformed form field {key!r}: use build_parameters[NAME]=value")
        else:
            out[key] = value
    if params:
        out["build_parameters"] = params
    return out


def job_trigger(data: dict[str, Any], *, branch: str | None) -> JobTrigger:
    """The v1.1 trigger in ``data``; ``branch`` from the URL (``tree/{branch}``), if any."""
    params = build_parameters(data.get("build_parameters"))
    job = params.pop("CIRCLE_JOB", None) or _text_field(data, "job") or "build"
    tag, revision = _text_field(data, "tag"), _text_field(data, "revision")
    if tag and revision:
        # "Cannot be used with tag parameter" [APIV1]
        raise bad_request("revision and tag cannot be used together")
    if branch is None:
        branch = _text_field(data, "branch")
    elif not branch or any(ord(c) < 32 for c in branch):
        raise bad_request("the branch name is empty or contains a control character")
    if branch and tag:
        raise bad_request("branch and tag cannot be used together")
    return JobTrigger(
        job=job, build_parameters=params, revision=revision, parallel=_parallel(data),
        branch=branch, tag=tag,
    )


def build_parameters(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("build_parameters must be a map of names to values")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise bad_request(
                f"invalid build parameter name {name!r}: use ASCII letters, digits and '_', "
                "not starting with a digit"
            )
        if name in RESERVED or name.startswith("LD_"):
            raise bad_request(f"build parameter {name} is reserved: it would change the shell")
        text = value if isinstance(value, str) else json.dumps(value)
        if "\0" in text:
            raise bad_request(f"build parameter {name} contains a NUL character")
        out[name] = text
    check_sizes(out)
    return out


def _text_field(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"{key} must be a string")
    if any(ord(c) < 32 for c in value):
        raise bad_request(f"{key} contains a control character")
    return value


def _parallel(data: dict[str, Any]) -> int | None:
    value = data.get("parallel")
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad_request("parallel must be a whole number") from None
    if isinstance(value, bool) or not 1 <= number <= MAX_PARALLEL:
        raise bad_request(f"parallel must be between 1 and {MAX_PARALLEL}")
    return number


def pipeline_parameters(raw: Any) -> dict[str, str]:
    """v2 ``parameters``: at most 100, keys up to 128 and values up to 512 characters [PV];
    values as text, for the config's declared types to convert."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("parameters must be a map of names to values")
    if len(raw) > V2_MAX_PARAMETERS:
        raise bad_request(f"too many parameters: at most {V2_MAX_PARAMETERS}")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if not name or len(name) > V2_MAX_KEY or "=" in name:
            raise bad_request(
                f"invalid parameter name {name!r}: 1 to {V2_MAX_KEY} characters, without '='"
            )
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | str):
            text = str(value)
        else:
            raise bad_request(f"parameter {name}: values must be strings, integers or booleans")
        if len(text) > V2_MAX_VALUE:
            raise bad_request(f"parameter {name}: values have at most {V2_MAX_VALUE} characters")
        out[name] = text
    return out
