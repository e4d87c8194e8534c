"""Orbs runner brings its own version of, whatever version a config names (issue 15).

``circleci/continuation`` (and so ``circleci/path-filtering``, which imports it) POSTs the
continuation of a setup workflow to ``https://<circleci_domain>/api/v2/pipeline/continue``
(CircleCI-Public/continuation-orb ``src/scripts/continue.sh``: curl and jq). Locally that would
reach the internet, or fail offline; runner's stand-in (:file:`runner/assets/continuation-orb.yml`)
has the same commands, job and parameters and hands the continuation to runner instead (see
:mod:`runner.continuation`). It wins over a vendored or fetched copy for that reason.
"""

from __future__ import annotations

from importlib import resources

from runner.config.yaml import MDict, parse_text

BUILTIN = {("circleci", "continuation"): "continuation-orb.yml"}
_PARSED: dict[str, MDict] = {}


def builtin_orb(namespace: str, name: str) -> MDict | None:
    """runner's own source for ``namespace/name`` (any version), or None."""
    asset = BUILTIN.get((namespace, name))
    if asset is None:
        return None
    if asset not in _PARSED:  # the parsed tree is never changed by expansion: shared
        text = resources.files("runner.assets").joinpath(asset).read_text()
        body = parse_text(text, f"<runner's built-in {namespace}/{name}>")
        assert isinstance(body, MDict)
        _PARSED[asset] = body
    return _PARSED[asset]
