"""``GET /api/v2/pipeline/:id/config``: the config a pipeline ran, as written and as compiled
[APIDEV]. For a pipeline that built a commit, both come from that commit; for one that built
the working tree, from the config file as it is now (runner keeps no copy of it).
"""

from __future__ import annotations

from typing import Any

from runner import runflow
from runner.api import revisions
from runner.api.errors import ApiError
from runner.api.projects import ServedProject
from runner.api.service import ApiService
from runner.errors import RunnerError
from runner.project import CONFIG_RELATIVE
from runner.store.history import RunRow


def pipeline_config(service: ApiService, project: ServedProject, run: RunRow) -> dict[str, Any]:
    asked = run.trigger_data
    commit = asked.get("commit")
    source = revisions.materialize(project, commit) if commit else None
    root = source.directory if source else project.root
    try:
        text = (root / CONFIG_RELATIVE).read_text(errors="replace")
        params = asked.get("parameters") or {}
        request = runflow.ProjectRequest(
            project_dir=root, branch=run.branch or None, tag=run.tag or None,
            revision=run.revision or None, params=tuple(f"{k}={v}" for k, v in params.items()),
            state_dir=project.state_root,
        )
        try:
            compiled = runflow.process_text(request, cwd=root)
        except RunnerError as exc:
            compiled = ""
            text = text or exc.render()
    except OSError as exc:
        raise ApiError(404, f"the config file cannot be read: {exc.strerror}") from None
    finally:
        if source is not None:
            revisions.discard(source.clone)
    return {"source": text, "compiled": compiled, "setup-config": "",
            "compiled-setup-config": ""}
