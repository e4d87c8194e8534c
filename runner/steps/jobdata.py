"""The job-data step kinds (issue 5): caches, workspaces, artifacts and test results."""

from __future__ import annotations

from runner.config import model as m
from runner.steps.artifacts import store_artifacts, store_test_results
from runner.steps.cache import restore_cache, save_cache
from runner.steps.context import Handler
from runner.steps.workspace import attach_workspace, persist_to_workspace

JOB_DATA_HANDLERS: dict[type[m.Step], Handler] = {
    m.SaveCacheStep: save_cache,
    m.RestoreCacheStep: restore_cache,
    m.PersistToWorkspaceStep: persist_to_workspace,
    m.AttachWorkspaceStep: attach_workspace,
    m.StoreArtifactsStep: store_artifacts,
    m.StoreTestResultsStep: store_test_results,
}
