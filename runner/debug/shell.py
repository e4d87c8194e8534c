"""The debugging shell: which program, with what start-up file, prompt and environment.

The shell is the job's shell program when it is one (the configured ``shell``'s first word,
without its ``-eo pipefail``: an interactive shell must not exit at the first failing command),
else bash when the node has it, else sh, as for steps [CR "Default shell options"].

``BASH_ENV`` as steps see it: a non-interactive bash (stdin not a terminal) reads ``$BASH_ENV``
by itself, exactly as a step's bash does. An interactive bash does not, so it starts with
``--rcfile``: a small file in the node's task-data directory that reads ``~/.bashrc``, then
``$BASH_ENV``, then sets runner's prompt. sh never reads ``BASH_ENV``, and neither do sh steps.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import tarfile
from collections.abc import Mapping
from typing import IO

from msgspec import Struct

from runner.executors.base import Session

SHELLS = frozenset({"bash", "sh", "dash", "ash", "zsh", "ksh", "mksh", "yash"})
RC_NAME = "runner-shellrc"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.#/@:+-]+")


class ShellPlan(Struct, frozen=True, kw_only=True):
    argv: list[str]
    env: dict[str, str]
    cwd: str
    rc_path: str | None = None  # an interactive bash's start-up file, to be written first
    rc_text: str = ""


def shell_program(configured: str | None, has_bash: bool) -> str:
    if configured:
        words = shlex.split(configured)
        if words and os.path.basename(words[0]) in SHELLS:
            return words[0]
    return "/bin/bash" if has_bash else "/bin/sh"


def plan_shell(
    *,
    configured: str | None,
    has_bash: bool,
    env: Mapping[str, str],
    cwd: str,
    task_data: str,
    label: str,
    tty: bool,
) -> ShellPlan:
    program = shell_program(configured, has_bash)
    prompt = prompt_for(label)
    full = dict(env)
    if tty and "TERM" not in full:  # a docker image sets no TERM; the terminal needs one
        full["TERM"] = os.environ.get("TERM", "xterm")
    if os.path.basename(program) != "bash":
        full["PS1"] = prompt + "$ "
        return ShellPlan(argv=[program, "-i"] if tty else [program], env=full, cwd=cwd)
    if not tty:  # reads BASH_ENV itself, like a step's bash
        return ShellPlan(argv=[program], env=full, cwd=cwd)
    rc_path = task_data.rstrip("/") + "/" + RC_NAME
    return ShellPlan(
        argv=[program, "--rcfile", rc_path, "-i"],
        env=full,
        cwd=cwd,
        rc_path=rc_path,
        rc_text=rc_text(label),
    )


def prompt_for(label: str) -> str:
    """``(runner build#1) ``: says where the shell is; safe inside single quotes."""
    return f"(runner {_UNSAFE.sub('_', label)}) "


def rc_text(label: str) -> str:
    prompt = prompt_for(label)
    return (
        "# runner's debugging shell: your ~/.bashrc, then BASH_ENV as the job's steps see it\n"
        'if [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi\n'
        'if [ -n "${BASH_ENV:-}" ] && [ -f "$BASH_ENV" ]; then . "$BASH_ENV"; fi\n'
        f"PS1='{prompt}\\w\\$ '\n"
    )


def put_text(session: Session, path: str, text: str) -> None:
    """Write one small file into the node (either executor), through its archive primitive."""
    data = text.encode()
    info = tarfile.TarInfo(os.path.basename(path))
    info.size, info.mode = len(data), 0o644
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    session.put_archive(os.path.dirname(path), buffer)


def open_shell(session: Session, plan: ShellPlan, *, tty: bool) -> int:
    if plan.rc_path is not None:
        put_text(session, plan.rc_path, plan.rc_text)
    return session.shell(plan.argv, env=plan.env, cwd=plan.cwd, stdin_is_tty=tty)


def say(lines: list[str], out: IO[str]) -> None:
    """Lines for the person at the shell, on the stream the CLI handed in (its stderr, so
    stdout stays the run's own output)."""
    out.write("".join(f"{line}\n" for line in lines))
    out.flush()
