"""The API server fixtures, for tests of the store written by the server and the CLI at once."""

from __future__ import annotations

from tests.api.conftest import start_api

__all__ = ["start_api"]
