"""Which ``build_parameters`` an API token holder may set (issue 14).

Build parameters become environment variables of the job [ENV-2020]. On a machine-executor
job that is host code: ``GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor
GIT_CONFIG_VALUE_0=<command>`` makes the job's ``git status`` run that command as the server's
user, and ``GIT_SSH_COMMAND``, ``PYTHONPATH``, ``NODE_OPTIONS``, ``PERL5OPT``,
``BASH_FUNC_x%%``, ``LD_PRELOAD`` are the same kind. No deny list is complete, so the rule is an
allow list: a token holder chooses only among the names the project allows,

- names the project's config mentions: keys of any ``environment`` map, ``$NAME`` and
  ``${NAME}`` in any text (steps' commands, orbs' commands once expanded), ``{{ .Environment.NAME
  }}`` in cache keys, and the names of pipeline and job parameters;
- names the server was started with: ``runner serve --allow-parameter NAME``;
- ``CIRCLE_JOB``, which picks the job [APIJOB].

On top of it, a small hard deny list of names that make the shell, the dynamic loader or a
language runtime load code. These are refused even when the config mentions them (a config that
sets ``PYTHONPATH: src`` must not let a token holder point it elsewhere), and ``--allow-parameter``
cannot name them (the server refuses to start).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from msgspec import Struct

from runner.config.model import Config

ALWAYS = frozenset({"CIRCLE_JOB"})
# The shell and its start-up: what bash reads before running a step's first line.
_SHELL = {"PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4",
          "PROMPT_COMMAND", "GLOBIGNORE", "CDPATH", "EDITOR", "VISUAL", "PAGER", "BROWSER",
          "SSH_ASKPASS", "SUDO_ASKPASS"}
# Language runtimes that load code or options named by a variable.
_RUNTIMES = {"NODE_OPTIONS", "NODE_PATH", "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB",
             "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
             "CLASSPATH", "MAVEN_OPTS", "GRADLE_OPTS", "DOTNET_STARTUP_HOOKS", "LUA_INIT",
             "LUA_PATH", "LUA_CPATH", "PHPRC", "PHP_INI_SCAN_DIR", "R_PROFILE", "R_PROFILE_USER",
             "TCLLIBPATH", "OPENSSL_CONF", "OPENSSL_ENGINES", "GCONV_PATH", "HOSTALIASES",
             "NIX_PATH"}
# Whole families: the dynamic loader (LD_PRELOAD, DYLD_INSERT_LIBRARIES), git (GIT_CONFIG_*,
# GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_ASKPASS...), Python (PYTHONPATH, PYTHONSTARTUP...),
# exported bash functions (BASH_FUNC_name%%; refused by the name rule already).
_PREFIXES = ("LD_", "DYLD_", "GIT_", "PYTHON", "BASH_FUNC_", "NPM_CONFIG_", "npm_config_")
HOST_CODE = frozenset(_SHELL | _RUNTIMES)

# ``${#NAME}`` (its length) and ``${!NAME}`` read NAME too
_REFERENCE = re.compile(
    r"\$(?:\{[#!]?)?([A-Za-z_][A-Za-z0-9_]*)|\.Environment\.([A-Za-z_][A-Za-z0-9_]*)"
)


def host_code(name: str) -> bool:
    """Whether ``name`` is a variable that makes a host program load or run code."""
    return name in HOST_CODE or name.startswith(_PREFIXES)


def check_allow_list(names: Iterable[str]) -> None:
    """``--allow-parameter`` names: each must be a variable name and none host code."""
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"--allow-parameter {name!r}: not a variable name")
        if host_code(name):
            raise ValueError(
                f"--allow-parameter {name}: it makes programs of the job load code, so a token "
                "holder could run commands as this server's user; it cannot be allowed"
            )


def refusal(
    names: Iterable[str], config: Config, config_file: Path, allowed: frozenset[str]
) -> str | None:
    """Why these build parameters are refused (the first refused name), or None."""
    mentioned: set[str] | None = None
    for name in names:
        if host_code(name):
            return (
                f"build parameter {name} is refused: it makes programs of the job load code "
                "(runner refuses such names even when the config mentions them)"
            )
        if name in ALWAYS or name in allowed:
            continue
        if mentioned is None:
            mentioned = config_names(config) | parameter_names(config_file)
        if name not in mentioned:
            return (
                f"build parameter {name} is not allowed: the project's config does not mention "
                f"${name}, and `runner serve --allow-parameter {name}` was not given"
            )
    return None


def config_names(config: Config) -> set[str]:
    """Every variable name the processed config mentions (see the module's docstring)."""
    found: set[str] = set()
    for text, key in _walk(config):
        if key:
            found.add(text)
        else:
            for match in _REFERENCE.finditer(text):
                found.add(match.group(1) or match.group(2))
    return found


def _walk(value: object, environment: bool = False) -> Iterator[tuple[str, bool]]:
    """Every text of the model: (text, True) for keys of ``environment`` maps, (text, False)
    for every other string."""
    if isinstance(value, str):
        yield value, False
    elif isinstance(value, Struct):
        for name in value.__struct_fields__:
            yield from _walk(getattr(value, name), name == "environment")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield key, environment
            yield from _walk(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _walk(item)


def parameter_names(config_file: Path) -> set[str]:
    """Names of the pipeline's and the jobs' parameters, as the config file declares them
    (2.1 processing substitutes them away from the model)."""
    from runner.config.load import parse_root
    from runner.config.yaml import MDict
    from runner.errors import ConfigError

    try:
        root = parse_root(config_file, config_file.name)
    except ConfigError:
        return set()
    names: set[str] = set()
    maps = [root.get("parameters")]
    jobs = root.get("jobs")
    if isinstance(jobs, MDict):
        maps += [job.get("parameters") for job in jobs.values() if isinstance(job, MDict)]
    for declared in maps:
        if isinstance(declared, MDict):
            names.update(str(name) for name in declared)
    return names
