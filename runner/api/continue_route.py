"""``POST /api/v2/pipeline/continue``: a setup workflow's continuation, sent by hand (issue 15).

CircleCI's body is ``{"continuation-key", "configuration", "parameters"}`` and the key is the
credential (CircleCI-Public/continuation-orb ``src/scripts/continue.sh`` sends no token), so the
guard lets this one path through without the server's token (:mod:`runner.api.guard`). The
continuation goes to the running setup pipeline of this server that owns the key
(:func:`runner.continuation.deliver`), which continues once its setup jobs are done. Jobs that
use the ``circleci/continuation`` orb need none of this: runner's own orb hands it over.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from runner.api.errors import bad_request
from runner.api.guard import CONTINUE_PATH
from runner.continuation import ContinuationRefused, deliver, parse_body

router = APIRouter(tags=["v2"])


@router.post(CONTINUE_PATH, summary="Continue a setup pipeline with a configuration and parameters")
def continue_pipeline(body: Annotated[Any, Body()] = None) -> dict[str, str]:
    try:
        deliver(parse_body(body))
    except ContinuationRefused as exc:
        raise bad_request(exc.message) from None
    return {"message": "success"}
