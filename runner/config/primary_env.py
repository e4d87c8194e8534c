"""The primary image's ``environment``: it reaches that container's entrypoint, not the steps.

Since 2020 CircleCI gives a docker image's ``environment`` only to the container it starts;
steps run with the job's (and executor's) ``environment`` [ENV-2020]. Configs written before
(CircleCI's own Django demo sets ``DATABASE_URL`` on its primary image) then silently run
against a fallback. runner keeps CircleCI's current rule, warns once per such key with the fix,
and ``--primary-env-to-steps`` restores the old rule: the primary image's variables below the
job's, as CircleCI 2.0's precedence list had them ("environment key for a container" just under
"environment key for a job").

Pure: a processed (version 2 shaped) tree in, located warnings out; a model in, a model out.
"""

from __future__ import annotations

from msgspec.structs import replace

from runner.config import model as m
from runner.config.reader import join
from runner.config.yaml import MDict, MList
from runner.errors import ConfigProblem

FLAG = "--primary-env-to-steps"


def primary_env_warnings(root: MDict) -> tuple[ConfigProblem, ...]:
    """One warning per variable name set on a primary image and not by its job, at its first
    place in the file: the steps will not see it."""
    jobs = root.get("jobs")
    if not isinstance(jobs, MDict):
        return ()
    seen: set[str] = set()
    out: list[ConfigProblem] = []
    for name, job in jobs.items():
        env, path = _primary_environment(job, join("jobs", name))
        if env is None:
            continue
        own = job.get("environment")
        for key in env:
            if key in seen or (isinstance(own, MDict) and key in own):
                continue
            seen.add(key)
            out.append(ConfigProblem(
                env.key_mark_of(key), join(path, key),
                f"the primary image's environment variable {key} does not reach the steps "
                "(CircleCI gives it only to that container's own command since 2020)",
                f"move it to the job's environment, or run with {FLAG}",
            ))
    return tuple(out)


def _primary_environment(job: object, path: str) -> tuple[MDict | None, str]:
    if not isinstance(job, MDict):
        return None, path
    images = job.get("docker")
    if not isinstance(images, MList) or not images or not isinstance(images[0], MDict):
        return None, path
    env = images[0].get("environment")
    where = join(join(join(path, "docker"), 0), "environment")
    return (env, where) if isinstance(env, MDict) and env else (None, where)


def primary_env_to_steps(config: m.Config) -> m.Config:
    """The pre-2020 rule: each docker job's steps also get its primary image's environment,
    below the job's own."""
    jobs = {name: _with_primary_env(job) for name, job in config.jobs.items()}
    return replace(config, jobs=m.frozen_map(jobs))


def _with_primary_env(job: m.Job) -> m.Job:
    executor = job.executor
    if not isinstance(executor, m.DockerExecutor) or not executor.primary.environment:
        return job
    merged = {**executor.primary.environment, **job.environment}
    return replace(job, environment=m.frozen_env(merged))
