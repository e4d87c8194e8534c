"""``sample_projects/split-and-deploy``: the second run restores the cache and splits by the
timings the first run recorded, which balances the three nodes better than names do."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from runner.report.summary import RunSummary
from tests.support import Collected, make_project, run_in_process

SAMPLE = Path(__file__).resolve().parents[2] / "sample_projects" / "split-and-deploy"


def durations() -> dict[str, float]:
    out = {}
    for path in sorted((SAMPLE / "tests").glob("test_*.sh")):
        found = re.search(r"# duration: (\S+)", path.read_text())
        assert found is not None
        out[f"tests/{path.name}"] = float(found.group(1))
    return out


def shares(run: Collected) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for node in range(3):
        lines = [t for t in run.output("test", node) if t.startswith(f"node {node} runs:")]
        assert len(lines) == 1, run.output("test", node)
        found[node] = lines[0].split(":", 1)[1].split()
    return found


def test_second_run_restores_the_cache_and_splits_by_timings(tmp_path: Path) -> None:
    root = tmp_path / "split-and-deploy"
    shutil.copytree(SAMPLE, root)
    project = make_project(root, (root / ".circleci" / "config.yml").read_text())
    seconds = durations()

    first = run_in_process(project)
    assert first.result is not None and first.result.exit_code == 0, first.output()
    assert "dependencies installed: left-pad 1.3.0" in first.output("build")
    by_name = shares(first)
    assert sorted(t for ts in by_name.values() for t in ts) == sorted(seconds)  # disjoint and complete
    assert by_name[0] == ["tests/test_alpha.sh", "tests/test_delta.sh"]  # no timings yet

    second = run_in_process(project)
    assert second.result is not None and second.result.exit_code == 0, second.output()
    build = second.output("build")
    assert any(line.startswith("Found a cache from build 1 at deps-v1-") for line in build)
    assert "dependencies restored from the cache: left-pad 1.3.0" in build
    by_timings = shares(second)
    assert sorted(t for ts in by_timings.values() for t in ts) == sorted(seconds)
    assert by_timings != by_name

    def slowest(split: dict[int, list[str]]) -> float:
        return max(sum(seconds[t] for t in tests) for tests in split.values())

    assert slowest(by_timings) < slowest(by_name)  # 0.6 s against 1.2 s

    # deployed once, from the workspace the build persisted
    deployed = [line for line in second.output() if line.startswith("deploying")]
    assert deployed == ["deploying app 1.0 (left-pad 1.3.0)"]
    # every node's results are in the run's directory, and in the summary
    run_dir = second.result.run_dir
    for node in range(3):
        assert (run_dir / "artifacts" / "test" / str(node) / "junit" / "junit.xml").is_file()
    summary = RunSummary()
    for event in second.events:
        summary.add(event)
    tests = json.loads(json.dumps(summary.as_dict()))["tests"]
    assert tests["test"]["tests"] == 6 and tests["test"]["failures"] == 0
