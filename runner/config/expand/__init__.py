"""CircleCI 2.1 processing: a raw 2.1 tree -> a new, version-2 shaped tree. Pure and offline.

The order follows CircleCI's [PV]: pipeline parameters are read and type-checked first, then
substituted wherever they are used (orb references included), orbs are imported (inline, or
vendored files: see :mod:`runner.config.expand.orbs`), and then jobs, commands, executors,
``when``/``unless``, matrices and ``pre-steps``/``post-steps`` are expanded.

Modules: ``interpolate`` (``<< >>``), ``params`` (declarations, binding), ``pipeline_params``,
``logic`` (logic statements), ``namespace``/``orbs`` (name resolution), ``steps``, ``executors``,
``jobs``, ``entries`` (workflow entries, matrices), ``naming`` and ``workflows``.

The input tree is never changed; every problem found is reported at once, located in the file
(or orb file) that holds it.
"""

from __future__ import annotations

import gc

from runner.config.expand.context import Env, Expander
from runner.config.expand.executors import resolve_executor
from runner.config.expand.interpolate import Interpolator, Scope
from runner.config.expand.namespace import Namespace
from runner.config.expand.nodes import Problems
from runner.config.expand.orbs import OrbLoader
from runner.config.expand.pipeline_params import read_pipeline_parameters
from runner.config.expand.steps import expand_steps
from runner.config.expand.workflows import build_jobs, expand_workflows
from runner.config.load_options import LoadOptions
from runner.config.pipeline import DEFAULT_VALUES
from runner.config.yaml import MDict
from runner.errors import ConfigProblem

__all__ = ["expand_config"]


def expand_config(
    root: MDict, *, file: str, options: LoadOptions, warnings: list[ConfigProblem] | None = None
) -> MDict:
    """The processed config of ``root`` (read from ``file``), as ``circleci config process``;
    keys CircleCI ignores are added to ``warnings``."""
    del file  # every node carries its own file in its marks
    # The trees are acyclic and short-lived; collections during a large expansion only rescan
    # them (about a third of the time for a 1,000-job config), so they wait until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _expand(root, options, [] if warnings is None else warnings)
    finally:
        if collecting:
            gc.enable()


def _expand(root: MDict, options: LoadOptions, warnings: list[ConfigProblem]) -> MDict:
    parameters = read_pipeline_parameters(root, options.pipeline_parameters)
    interp = Interpolator(parameters, {**DEFAULT_VALUES, **options.pipeline_values})
    loader = OrbLoader(interp, options.orb_dir, options.orb_source, warnings, options.parsed)
    ns = Namespace(label="", body=root, path="", in_orb=False, loader=loader)
    x = Expander(interp, steps=expand_steps, executor=resolve_executor, warnings=warnings)
    env, problems = Env(ns, Scope()), Problems()
    workflows = expand_workflows(x, env, root, problems)
    jobs = build_jobs(x, env, root, workflows, problems)
    problems.raise_if_any()
    out = MDict(root.mark)
    out.set("version", 2, root.key_mark_of("version"), root.mark_of("version"), None)
    if jobs is not None:
        out.set("jobs", jobs, root.key_mark_of("jobs"), root.mark_of("jobs"), None)
    if root.get("setup") is True:  # a dynamic config's setup file (runner.continuation)
        out.set("setup", True, root.key_mark_of("setup"), root.mark_of("setup"), None)
    if workflows.node is not None:
        out.set("workflows", workflows.node, root.key_mark_of("workflows"),
                root.mark_of("workflows"), None)
    return out
