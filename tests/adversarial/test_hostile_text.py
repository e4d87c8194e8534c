"""Issue 14, parts 1 and 2: a step's output and a config's names cannot drive the terminal nor
be read as markup. Checked in the exact bytes a real ``runner run`` writes to a pty and to a
pipe, in ``runner logs``, and in ``--json``."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import make_project, run_cli

# Each line a step prints, as printf(1) escapes: (what it does, printf format).
HOSTILE = {
    "osc52": r"A\033]52;c;ZXZpbA==\007B",  # writes the clipboard
    "osc52_st": r"C\033]52;c;ZXZpbA==\033\\D",
    "osc8": r"\033]8;;https://evil.example/\033\\LINK\033]8;;\033\\",
    "dsr": r"E\033[6nF",  # the terminal types its cursor position into runner's input
    "da": r"G\033[cH",  # device attributes: same
    "rewrite": r"\033[1A\033[2K✓ deploy passed",  # rewrites runner's verdict above
    "dcs": r"I\033P1\$r\033\\J",
    "c1csi": r"K\302\2336nL",  # U+009B, the 8-bit CSI
    "apc": r"M\033_payload\033\\N",
    "title": r"O\033]0;pwned\007P",
    "bell": r"Q\007\010R",
}
CLEAN = {
    "osc52": "AB", "osc52_st": "CD", "osc8": "LINK", "dsr": "EF", "da": "GH",
    "rewrite": "✓ deploy passed", "dcs": "IJ", "c1csi": "KL", "apc": "MN", "title": "OP",
    "bell": "QR",
}
JOB = "chk [b] [/]"
STEP = "say [link=https://evil.example]hi[/link] \x1b[2K"


def _config(executor: str = "    machine: true") -> str:
    printfs = "\n".join(f"            printf '{fmt}\\n'" for fmt in HOSTILE.values())
    return f"""\
version: 2.1
jobs:
  build:
{executor}
    steps:
      - run:
          name: {json.dumps(STEP)}
          command: |
{printfs}
            printf '\\033[31mRED\\033[0m\\n'
            printf 'bar 10%%\\rbar 20%%\\r\\n'
            exit 3
workflows:
  main:
    jobs:
      - build:
          name: "{JOB}"
"""


def _project(tmp_path: Path, executor: str = "machine") -> Path:
    return make_project(tmp_path / "p", _config(EXECUTORS[executor]))


EXECUTORS = {
    "machine": "    machine: true",
    "docker": "    docker:\n      - image: runner-test/busybox:latest",
}


_ALLOWED_ESCAPE = re.compile(rb"\x1b\[[0-9;:]*m")


def _assert_terminal_safe(data: bytes) -> None:
    """Only SGR sequences, and no control byte but tab, newline (and CR of a pty's ONLCR)."""
    rest = _ALLOWED_ESCAPE.sub(b"", data)
    bad = sorted({b for b in rest if (b < 0x20 and b not in b"\t\n\r") or b == 0x7F})
    assert not bad, (bad, data[-3000:])
    assert b"\xc2\x9b" not in rest and b"\xc2\x9d" not in rest  # no C1 in UTF-8 form either
    text = rest.decode().replace("\r\n", "\n")
    for line in CLEAN.values():  # the sequence went, with its payload, and nothing else did
        assert f"│ {line}\n" in text, (line, text[-3000:])


def _run_on_pty(project: Path, env: dict[str, str]) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run"], cwd=project, env=env,
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True,
    )
    os.close(slave)
    data = bytearray()
    deadline = time.monotonic() + 120  # a hang guard only
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), bytes(data)


def test_a_pty_gets_colour_and_no_other_control(tmp_path: Path) -> None:
    project = _project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    code, data = _run_on_pty(project, {**env, "TERM": "xterm-256color", "COLUMNS": "200"})
    assert code == 1, data[-2000:]
    _assert_terminal_safe(data)
    assert b"\x1b[31mRED\x1b[0m" in data  # the step's colour survives on a terminal
    text = _ALLOWED_ESCAPE.sub(b"", data).decode()
    assert f"{JOB}" in text and "[link=https://evil.example]hi[/link]" in text
    assert "\\x1b[2K" in text  # the name's control character, shown
    assert "bar 10%" in text and "bar 20%" in text  # a progress bar's redraws, one per line
    assert "runner logs 1 'chk [b] [/]' --step 0" in text


@pytest.mark.parametrize(
    "executor", ["machine", pytest.param("docker", marks=pytest.mark.docker)]
)
def test_a_pipe_gets_no_control_at_all_and_names_as_written(
    tmp_path: Path, executor: str
) -> None:
    project = _project(tmp_path, executor)
    result = run_cli(["run"], project)  # NO_COLOR, stdout a pipe
    assert result.code == 1, result.stderr
    data = result.stdout.encode()
    _assert_terminal_safe(data)
    assert b"\x1b" not in data  # no colour without colour
    assert "RED" in result.stdout
    table = [line for line in result.stdout.splitlines() if line.startswith(JOB + " ")]
    assert table, result.stdout  # the summary table shows the name as written (not "chk")
    assert any("[link=https://evil.example]hi[/link]" in line for line in table)
    assert "runner logs 1 'chk [b] [/]' --step 0" in result.stdout
    assert "bar 10%\n" in result.stdout.replace(f"{JOB} │ ", "")


def test_stored_logs_and_json_carry_no_control(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = run_cli(["run", "--json"], project)
    assert result.code == 1, result.stderr
    texts = [
        event["text"] for event in map(json.loads, result.stdout.splitlines())
        if event.get("event") == "step_output"
    ]
    joined = "".join(f"│ {text}\n" for text in texts)
    _assert_terminal_safe(joined.encode())
    assert "\x1b[31mRED\x1b[0m" in joined  # data keeps colour, as CircleCI's API does

    logs = run_cli(["logs", "1", JOB, "--step", "0"], project)
    assert logs.code == 0, logs.stderr
    _assert_terminal_safe("".join(f"│ {line}\n" for line in logs.stdout.splitlines()).encode())
    assert "\x1b" not in logs.stdout  # not a terminal: colour dropped too
