"""Issue 15 item 1: orbs from CircleCI's orb registry (a stand-in on 127.0.0.1), with a cache,
a lock, --offline, and errors that name the orb."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.config.orb_source import OrbNotFound
from runner.errors import ConfigError, EnvironmentFailure
from runner.orbs.registry import QUERY, RegistryError
from runner.orbs.resolver import RegistryResolver
from runner.orbs.settings import RegistrySettings
from tests.orbs.standin import Registry, serve, standard, toolkit
from tests.support import make_project, run_cli, run_in_process

CONFIG = """\
version: 2.1
orbs:
  tk: acme/toolkit@1.2
jobs:
  local:
    executor: {name: tk/default, tag: mine}
    steps:
      - tk/greet: {who: local}
workflows:
  main:
    jobs:
      - tk/hello:
          name: hello-world
      - tk/hello:
          matrix:
            parameters:
              who: [a, b]
      - local:
          requires: [hello-world]
"""


@pytest.fixture
def registry() -> Registry:
    return standard()


@pytest.fixture
def host(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with serve(registry) as address:
        monkeypatch.setenv("CIRCLECI_CLI_HOST", address)
        yield address


def settings(host: str, tmp_path: Path, **changes: object) -> RegistrySettings:
    values: dict[str, object] = {"cache_dir": tmp_path / "cache", "host": host}
    values.update(changes)
    return RegistrySettings(**values)  # type: ignore[arg-type]


def cached_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_the_request_is_the_one_circleci_cli_sends(host: str, registry: Registry,
                                                   tmp_path: Path) -> None:
    resolver = RegistryResolver(settings(host, tmp_path, token="s3cret-token"))
    assert resolver.resolve("acme/toolkit@1.2").version == "1.2.3"
    (request,) = registry.requests
    assert request["path"] == "/graphql-unstable"
    assert request["body"] == {"query": QUERY, "variables": {"orbVersionRef": "acme/toolkit@1.2"}}
    assert "orbVersion(orbVersionRef: $orbVersionRef)" in QUERY
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["Authorization"] == "s3cret-token"  # bare, as Request.SetToken


@pytest.mark.parametrize(("reference", "version"), [
    ("acme/toolkit@1.2.0", "1.2.0"), ("acme/toolkit@1", "1.2.3"), ("acme/toolkit@1.2", "1.2.3"),
    ("acme/toolkit@volatile", "2.0.0"), ("acme/toolkit", "2.0.0"),
    ("acme/toolkit@dev:alpha", "dev:alpha"),
])
def test_versions_resolve_as_the_registry_resolves_them(
    host: str, registry: Registry, tmp_path: Path, reference: str, version: str
) -> None:
    found = RegistryResolver(settings(host, tmp_path)).resolve(reference)
    assert found.version == version
    assert found.source == registry.orbs["acme/toolkit"][version]
    sent = registry.requests[0]["body"]["variables"]["orbVersionRef"]
    assert sent == (reference if "@" in reference else "acme/toolkit@volatile")


def test_exact_versions_are_cached_for_ever_partial_ones_for_a_day(
    host: str, registry: Registry, tmp_path: Path
) -> None:
    now = [1_000_000.0]
    ask = settings(host, tmp_path, clock=lambda: now[0])
    assert RegistryResolver(ask).resolve("acme/toolkit@1").version == "1.2.3"
    assert RegistryResolver(ask).resolve("acme/toolkit@1.2.0").version == "1.2.0"
    registry.publish("acme/toolkit", "1.3.0", toolkit("1.3.0"))
    asked = len(registry.requests)
    now[0] += 3600  # an hour later: from the cache, the registry is not asked
    assert RegistryResolver(ask).resolve("acme/toolkit@1").version == "1.2.3"
    assert RegistryResolver(ask).resolve("acme/toolkit@1.2.0").version == "1.2.0"
    assert len(registry.requests) == asked
    now[0] += 24 * 3600  # a day later: @1 is asked again, @1.2.0 never
    assert RegistryResolver(ask).resolve("acme/toolkit@1").version == "1.3.0"
    assert RegistryResolver(ask).resolve("acme/toolkit@1.2.0").version == "1.2.0"
    assert [r["body"]["variables"]["orbVersionRef"] for r in registry.requests[asked:]] == [
        "acme/toolkit@1"]


def test_network_down_serves_the_cache_and_offline_never_asks(
    registry: Registry, tmp_path: Path
) -> None:
    now = [1_000_000.0]
    with serve(registry) as address:
        ask = settings(address, tmp_path, clock=lambda: now[0])
        RegistryResolver(ask).resolve("acme/toolkit@1")
    now[0] += 7 * 24 * 3600  # stale, and the registry is gone: the cache still serves
    assert RegistryResolver(ask).resolve("acme/toolkit@1").version == "1.2.3"
    offline = settings(address, tmp_path, clock=lambda: now[0], offline=True)
    assert RegistryResolver(offline).resolve("acme/toolkit@1").version == "1.2.3"
    with pytest.raises(EnvironmentFailure) as caught:
        RegistryResolver(offline).resolve("acme/helpers@1")
    assert "orb 'acme/helpers@1' is not in the orb cache, and --offline forbids" in str(caught.value)
    with pytest.raises(RegistryError) as down:
        RegistryResolver(settings(address, tmp_path)).resolve("acme/helpers@1")
    assert f"cannot reach CircleCI's orb registry at {address}/graphql-unstable for orb " \
           "'acme/helpers@1'" in down.value.message


def test_unknown_private_and_bogus_answers_name_the_orb_and_cache_nothing(
    host: str, registry: Registry, tmp_path: Path
) -> None:
    resolver = RegistryResolver(settings(host, tmp_path))
    with pytest.raises(OrbNotFound) as unknown:
        resolver.resolve("acme/nothing@1")
    assert unknown.value.message.startswith("no orb 'acme/nothing@1' was found")
    with pytest.raises(OrbNotFound) as private:
        resolver.resolve("acme/secret@1")
    assert "a private orb also needs a token: set CIRCLECI_CLI_TOKEN" in private.value.hint
    token = RegistryResolver(settings(host, tmp_path, token="s3cret-token"))
    assert "hush" in token.resolve("acme/secret@1").source
    for garbage in ("<html>hello</html>", '{"data": {"orbVersion": {"version": "1.0.0", '
                    '"source": "- a list\\n- not an orb\\n"}}}'):
        registry.garbage = garbage
        with pytest.raises(RegistryError) as bogus:
            RegistryResolver(settings(host, tmp_path / "other")).resolve("acme/helpers@1")
        assert "for orb 'acme/helpers@1' is not an orb" in bogus.value.message
    assert not (tmp_path / "other").exists()  # nothing of a bad answer is kept
    registry.garbage, registry.status = None, 401
    with pytest.raises(RegistryError) as refused:
        RegistryResolver(settings(host, tmp_path / "other")).resolve("acme/helpers@1")
    assert "failure calling GraphQL API: 401" in refused.value.message
    assert "set CIRCLECI_CLI_TOKEN" in (refused.value.hint or "")


def test_a_config_with_registry_orbs_runs_and_runs_again_with_the_network_gone(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    with serve(registry) as address:
        monkeypatch.setenv("CIRCLECI_CLI_HOST", address)
        first = run_in_process(project)
    expected = {
        "hello-world": ["toolkit 1.2.3 says hello world on 1.2.3", "note: greeted world"],
        "tk/hello-a": ["toolkit 1.2.3 says hello a on 1.2.3", "note: greeted a"],
        "local": ["toolkit 1.2.3 says hello local on mine", "note: greeted local"],
    }
    for job, lines in expected.items():
        assert first.output(job) == lines, (job, first.output())
    assert first.result is not None and first.result.exit_code == 0
    asked = sorted(r["body"]["variables"]["orbVersionRef"] for r in registry.requests)
    assert asked == ["acme/helpers@1", "acme/toolkit@1.2"]  # the orb's own orb, too
    again = run_in_process(project)  # the registry is gone now
    assert again.result is not None and again.result.exit_code == 0
    assert again.output("local") == expected["local"]
    offline = run_in_process(project, offline=True)
    assert offline.result is not None and offline.result.exit_code == 0


def test_vendored_orbs_still_win_over_the_registry(
    host: str, registry: Registry, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "p", CONFIG, {
        ".circleci/orbs/acme/toolkit@1.2.yml": toolkit("9.9.9"),
    })
    run = run_in_process(project, jobs=("local",))
    assert run.output("local")[0] == "toolkit 9.9.9 says hello local on mine"
    asked = [r["body"]["variables"]["orbVersionRef"] for r in registry.requests]
    assert asked == ["acme/helpers@1"]  # only what is not vendored


def test_cli_errors_name_the_orb_with_exit_2_or_3(host: str, tmp_path: Path) -> None:
    unknown = make_project(tmp_path / "u", CONFIG.replace("acme/toolkit@1.2", "acme/nothing@3"))
    result = run_cli(["validate"], unknown, env={"CIRCLECI_CLI_HOST": host})
    assert result.code == 2
    assert ".circleci/config.yml:3:7: orbs.tk: no orb 'acme/nothing@3' was found in CircleCI's " \
           "orb registry" in result.stderr
    project = make_project(tmp_path / "p", CONFIG)
    down = run_cli(["plan"], project, env={"CIRCLECI_CLI_HOST": "http://127.0.0.1:9"})
    assert down.code == 3 and "Traceback" not in down.stderr
    assert "cannot reach CircleCI's orb registry at http://127.0.0.1:9/graphql-unstable for " \
           "orb 'acme/toolkit@1.2'" in down.stderr
    offline = run_cli(["plan", "--offline", "--orb-host", host], project)
    assert offline.code == 3 and "--offline forbids" in offline.stderr
    fine = run_cli(["plan", "--orb-host", host], project, env={"CIRCLECI_CLI_HOST": ""})
    assert fine.code == 0, fine.stderr


def test_orb_fetch_writes_a_lock_that_makes_partial_refs_reproducible(
    host: str, registry: Registry, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    fetched = run_cli(["orb", "fetch"], project, env={"CIRCLECI_CLI_HOST": host})
    assert fetched.code == 0, fetched.stderr
    assert "acme/toolkit@1.2: 1.2.3 (cached in " in fetched.stdout
    lock = json.loads((project / ".circleci" / "orbs.lock").read_text())
    assert {k: v["version"] for k, v in lock["orbs"].items()} == {
        "acme/toolkit@1.2": "1.2.3", "acme/helpers@1": "1.0.0"}
    registry.publish("acme/toolkit", "1.2.9", toolkit("1.2.9"))
    later = run_in_process(project, jobs=("local",), orb_host=host)
    assert later.output("local")[0] == "toolkit 1.2.3 says hello local on mine"  # locked
    relocked = run_cli(["orb", "lock"], project, env={"CIRCLECI_CLI_HOST": host})
    assert relocked.code == 0, relocked.stderr
    lock = json.loads((project / ".circleci" / "orbs.lock").read_text())
    assert lock["orbs"]["acme/toolkit@1.2"]["version"] == "1.2.9"
    # a locked source that changed is refused, not used
    lock["orbs"]["acme/toolkit@1.2"]["sha256"] = "0" * 64
    (project / ".circleci" / "orbs.lock").write_text(json.dumps(lock))
    with pytest.raises(ConfigError) as changed:
        run_in_process(project, jobs=("local",), orb_host=host)
    assert "orb 'acme/toolkit@1.2' locked at 1.2.9 has another source" in changed.value.message


def test_orb_vendor_writes_sources_the_loader_finds_without_any_network(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p", CONFIG)
    vendored = run_cli(["orb", "vendor"], project, env={"CIRCLECI_CLI_HOST": host})
    assert vendored.code == 0, vendored.stderr
    orbs = project / ".circleci" / "orbs"
    assert cached_files(orbs) == ["acme/helpers@1.yml", "acme/toolkit@1.2.yml"]
    assert "toolkit 1.2.3" in (orbs / "acme" / "toolkit@1.2.yml").read_text()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    run = run_in_process(project, jobs=("local",), offline=True)
    assert run.output("local") == ["toolkit 1.2.3 says hello local on mine",
                                   "note: greeted local"]
    assert not (tmp_path / "empty-cache").exists()


def test_host_and_token_are_found_where_circleci_cli_keeps_them(tmp_path: Path) -> None:
    (tmp_path / ".circleci").mkdir()
    (tmp_path / ".circleci" / "cli.yml").write_text(
        "host: https://circleci.example.invalid\ntoken: from-cli-yml\n")
    home = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c")}
    found = RegistrySettings.from_environ(home)
    assert (found.host, found.token) == ("https://circleci.example.invalid", "from-cli-yml")
    assert found.address == "https://circleci.example.invalid/graphql-unstable"
    assert found.cache_dir == tmp_path / "c" / "runner" / "orbs"
    assert "from-cli-yml" not in repr(found)
    env = {**home, "CIRCLECI_CLI_HOST": "http://h:1", "CIRCLECI_CLI_TOKEN": "from-env"}
    assert (RegistrySettings.from_environ(env).host,
            RegistrySettings.from_environ(env).token) == ("http://h:1", "from-env")
    assert RegistrySettings.from_environ(env, host="http://opt:2").host == "http://opt:2"
    bare = RegistrySettings.from_environ({"HOME": str(tmp_path / "nobody")})
    assert (bare.host, bare.token) == ("https://circleci.com", None)


def test_orb_fetch_errors_name_the_orb_and_write_no_lock(host: str, tmp_path: Path) -> None:
    nested = CONFIG.replace("  tk: acme/toolkit@1.2", "  tk: acme/toolkit@1.2\n  gone: acme/gone@1")
    project = make_project(tmp_path / "p", nested)
    unknown = run_cli(["orb", "fetch"], project, env={"CIRCLECI_CLI_HOST": host})
    assert unknown.code == 2 and "Traceback" not in unknown.stderr
    assert ".circleci/config.yml:4:9: orbs.gone: no orb 'acme/gone@1' was found" in unknown.stderr
    down = run_cli(["orb", "vendor"], project, env={"CIRCLECI_CLI_HOST": "http://127.0.0.1:9"})
    assert down.code == 3 and "for orb 'acme/toolkit@1.2'" in down.stderr
    assert not (project / ".circleci" / "orbs.lock").exists()
    assert not (project / ".circleci" / "orbs").exists()
