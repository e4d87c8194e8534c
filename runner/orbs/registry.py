"""One question to CircleCI's orb registry, asked exactly as ``circleci orb source`` asks it.

[CLI api/api.go ``OrbSource``, api/graphql/client.go]: a POST of ``{"query": ..., "variables":
{"orbVersionRef": "ns/name@version"}}`` to ``<host>/graphql-unstable`` with ``Content-Type`` and
``Accept: application/json; charset=utf-8``, and the token, when there is one, as the bare
``Authorization`` header (``Request.SetToken``). A reference without a version asks for
``@volatile`` (``orbVersionRef``). The registry resolves partial versions (``@5``, ``@5.0``),
``volatile`` and ``dev:label`` itself; the answer's ``version`` is the exact one. An unknown orb
is ``{"data": {"orbVersion": null}}``; an HTTP status other than 200 or a GraphQL ``errors``
list is a failure, as in the CLI.
"""

from __future__ import annotations

import json
from typing import Any

from msgspec import Struct

from runner import __version__
from runner.config.orb_source import OrbNotFound
from runner.config.yaml import MDict, parse_text
from runner.errors import ConfigError, EnvironmentFailure
from runner.orbs.settings import RegistrySettings

QUERY = """query($orbVersionRef: String!) {
  orbVersion(orbVersionRef: $orbVersionRef) {
    id
    version
    orb { id }
    source
  }
}"""
MAX_ANSWER = 16 * 1024 * 1024  # an orb source is a config file: the config budget


class RegistryError(EnvironmentFailure):
    """The registry could not be asked, or its answer was not an orb (exit 3)."""


class Answer(Struct, frozen=True):
    version: str
    source: str


def fetch(settings: RegistrySettings, reference: str) -> Answer:
    """The registry's orb for ``reference``; OrbNotFound, or RegistryError naming the orb."""
    # imported here: http.client and its email parsers cost every other command ~10% of its
    # start-up, and only a run that needs an uncached orb comes this far
    import urllib.error
    import urllib.request

    ref = reference if "@" in reference else f"{reference}@volatile"
    body = json.dumps({"query": QUERY, "variables": {"orbVersionRef": ref}}).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json; charset=utf-8",
        "User-Agent": f"runner/{__version__}",
    }
    if settings.token:
        headers["Authorization"] = settings.token
    request = urllib.request.Request(settings.address, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:
            data = response.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as exc:
        raise _refused(settings, reference, exc.code, exc.reason) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise RegistryError(
            f"cannot reach CircleCI's orb registry at {settings.address} for orb "
            f"'{reference}': {reason}",
            hint="check the network (or CIRCLECI_CLI_HOST / --orb-host), or vendor the orb "
            "with `runner orb vendor` on a machine that can reach it",
        ) from None
    return _answer(settings, reference, data)


def _refused(settings: RegistrySettings, reference: str, code: int, reason: str) -> RegistryError:
    hint = (
        "a private orb needs a token: set CIRCLECI_CLI_TOKEN (or `circleci setup`)"
        if code in (401, 403) and not settings.token
        else "check the token (CIRCLECI_CLI_TOKEN) and the host"
    )
    return RegistryError(
        f"CircleCI's orb registry at {settings.address} refused orb '{reference}': "
        f"failure calling GraphQL API: {code} {reason}",
        hint=hint,
    )


def _answer(settings: RegistrySettings, reference: str, data: bytes) -> Answer:
    def bad(why: str) -> RegistryError:
        return RegistryError(
            f"the answer of {settings.address} for orb '{reference}' is not an orb: {why}",
            hint="check --orb-host / CIRCLECI_CLI_HOST: it must be a CircleCI server",
        )

    if len(data) > MAX_ANSWER:
        raise bad(f"it is over {MAX_ANSWER // 1024 // 1024} MiB")
    try:
        document: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise bad("it is not JSON") from None
    if not isinstance(document, dict):
        raise bad("it is not a GraphQL answer")
    errors = document.get("errors")
    if errors:
        messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                             for e in (errors if isinstance(errors, list) else [errors]))
        hint = None if settings.token else "if it is a private orb, set CIRCLECI_CLI_TOKEN"
        raise RegistryError(f"CircleCI's orb registry refused orb '{reference}': {messages}",
                            hint=hint)
    payload = document.get("data")
    found = payload.get("orbVersion") if isinstance(payload, dict) else None
    if isinstance(payload, dict) and "orbVersion" in payload and found is None:
        raise _not_found(settings, reference)
    if not isinstance(found, dict):
        raise bad("it has no data.orbVersion")
    version, source = found.get("version"), found.get("source")
    if not isinstance(version, str) or not version or not isinstance(source, str):
        raise bad("data.orbVersion has no version and source")
    try:  # runner's own parser: its budgets hold for hostile answers too
        parsed = parse_text(source, reference)
    except ConfigError as exc:
        raise bad(f"its source is not valid YAML ({exc.problems[0].message})") from None
    if not isinstance(parsed, MDict):
        raise bad("its source is not a map of keys")
    return Answer(version=version, source=source)


def _not_found(settings: RegistrySettings, reference: str) -> OrbNotFound:
    hint = "check the name and version (`circleci orb info` lists versions)"
    if not settings.token:
        hint += "; a private orb also needs a token: set CIRCLECI_CLI_TOKEN"
    # the CLI's own words: "no Orb '%s' was found; please check that the Orb reference is correct"
    return OrbNotFound(f"no orb '{reference}' was found in CircleCI's orb registry "
                       f"({settings.host})", hint)
