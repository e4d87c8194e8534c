"""Output goes out one way (issue 19, item 4): the core emits events and reporters render
them; only reporters and the command line touch the process's stdout and stderr, and only the
CLI's edge (runner.cli.edge) ends the process, with a code runner.errors defines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "runner"
OUTPUT_PLACES = ("report/", "cli/")  # reporters, and the command line that owns the terminal
EXIT_PLACE = "cli/edge.py"


def _uses(file: Path) -> list[tuple[int, str]]:
    """(line, what) of each use of sys.stdout/sys.stderr, print() and os._exit in ``file``."""
    found = []
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            what = f"{node.value.id}.{node.attr}"
            if what in ("sys.stdout", "sys.stderr", "os._exit"):
                found.append((node.lineno, what))
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            found.append((node.lineno, "print"))
    return found


def _places() -> list[tuple[str, int, str]]:
    return [
        (file.relative_to(ROOT).as_posix(), line, what)
        for file in sorted(ROOT.rglob("*.py"))
        for line, what in _uses(file)
    ]


def test_only_reporters_and_the_cli_write_to_the_terminal() -> None:
    outside = [
        f"runner/{path}:{line} {what}"
        for path, line, what in _places()
        if what != "os._exit" and not path.startswith(OUTPUT_PLACES)
    ]
    assert outside == []


def test_only_the_cli_edge_ends_the_process() -> None:
    outside = [
        f"runner/{path}:{line}" for path, line, what in _places()
        if what == "os._exit" and path != EXIT_PLACE
    ]
    assert outside == []
    assert any(path == EXIT_PLACE for path, _line, what in _places() if what == "os._exit")
