"""runner's modules import one way: no import cycle, counting imports inside functions and
type-only ones (issue 19)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "runner"

def modules() -> dict[str, Path]:
    found = {}
    for file in ROOT.rglob("*.py"):
        parts = file.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = file
    return found


def imports(name: str, file: Path, known: dict[str, Path]) -> set[str]:
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # ``from pkg import mod`` imports the module; ``from mod import name`` the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        for written in targets:
            target = written
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root, children_of_root in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(children_of_root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_no_import_cycle() -> None:
    known = modules()
    graph = {name: imports(name, file, known) for name, file in known.items()}
    assert "runner.engine" in graph["runner.runflow"]  # the walk sees imports at all
    assert [sorted(c) for c in cycles(graph)] == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


# issue 19, item 2: executor kinds and docker labels are runner.executors' business (its
# registry and backends). runner/config/ is exempt: it reads the YAML keys that name the kinds.
BACKEND_KINDS = r"""["'](?:docker|machine|podman)["']"""
LEAKS = {
    "a kind compared": re.compile(rf"(?:==|!=)\s*{BACKEND_KINDS}|{BACKEND_KINDS}\s*(?:==|!=|in\b)"),
    "a kind as a key": re.compile(rf"{BACKEND_KINDS}\s*:"),
    "a docker label": re.compile(r"com\.runner\."),
    "a backend module": re.compile(r"runner\.executors\.(?:docker|machine)"),
}


def leaks(root: Path) -> list[str]:
    found = []
    for file in sorted(root.rglob("*.py")):
        if file.relative_to(root).parts[0] in ("executors", "config"):
            continue
        for number, line in enumerate(file.read_text().splitlines(), 1):
            what = next((w for w, pattern in LEAKS.items() if pattern.search(line)), None)
            if what is not None:
                found.append(f"{file.relative_to(root)}:{number}: {what}: {line.strip()}")
    return found


def test_no_executor_kind_or_docker_label_outside_the_executors() -> None:
    assert leaks(ROOT) == []


def test_the_leak_finder_finds_leaks(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "executors").mkdir()
    (tmp_path / "steps" / "a.py").write_text(
        'if kind == "machine":\n    pass\nPLACES = {"docker": 1}\n'
        'labels = {"com.runner.run": "x"}\nfrom runner.executors.docker import labels\n'
        'if "podman" in kinds:\n    pass\nname = "docker-compose"\n'
    )
    (tmp_path / "executors" / "b.py").write_text('kind = "docker"\nif k == "docker": pass\n')
    assert [line.split(": ")[1] for line in leaks(tmp_path)] == [
        "a kind compared", "a kind as a key", "a docker label", "a backend module",
        "a kind compared",
    ]


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def oversized(root: Path) -> list[str]:
    """Modules over 400 lines and functions over 60 (decorators and docstring included)."""
    found = []
    for file in sorted(root.rglob("*.py")):
        text = file.read_text()
        where = file.relative_to(root.parent)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found.append(f"{where}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - first + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    return found


def test_modules_and_functions_stay_small() -> None:
    assert oversized(ROOT) == []


def test_the_size_finder_finds_a_long_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    (package / "long.py").write_text(f"@decorated\ndef long():\n{body}")
    (package / "short.py").write_text("def short():\n    return 1\n")
    assert oversized(package) == ["pkg/long.py:2 long: 62 lines"]
