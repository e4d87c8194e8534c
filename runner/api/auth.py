"""The API token: generated or given, sent in any of CircleCI's four ways, compared in
constant time.

CircleCI accepts the token as the Basic-auth user with an empty password (``curl -u TOKEN:``),
in a ``Circle-Token`` header, as ``Authorization: Bearer``, or (deprecated) as the
``circle-token`` query parameter [APIV1][APIDEV]. Every one of them works here.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import parse_qsl

MIN_TOKEN = 16  # a token must not be guessable: refuse short ones given with --token


def generate_token() -> str:
    return secrets.token_urlsafe(24)


def offered_tokens(headers: Iterable[tuple[bytes, bytes]], query: bytes) -> list[str]:
    """Every token the request carries, in any of the accepted forms."""
    found: list[str] = []
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1").strip()
        if name == "circle-token":
            found.append(value)
        elif name == "authorization":
            scheme, _, credential = value.partition(" ")
            if scheme.lower() == "bearer":
                found.append(credential.strip())
            elif scheme.lower() == "basic":
                found.extend(_basic_user(credential.strip()))
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key == "circle-token":
            found.append(value)
    return found


def _basic_user(credential: str) -> list[str]:
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return [""]  # present but unreadable: a bad token, not a missing one
    user, _, _password = decoded.partition(":")
    return [user]


def token_matches(offered: str, expected: str) -> bool:
    # compare_digest keeps the time independent of how much of the token is right.
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))
