"""Every real config either loads and plans, or fails with the exact message intended.

The configs are public test data: ``tests/data/corpus`` (25 configs with a MANIFEST.tsv and a
README, copied from the shared corpus) and ``tests/data/real_configs`` (collected from public
repositories). A config that CircleCI accepts and runner refuses is a bug in runner, unless the
table below says why it must fail here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.config.load import LoadOptions, load_config
from runner.errors import ConfigError
from runner.graph import Selection, plan

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = sorted(
    [*(DATA / "corpus").glob("*.yml"), *(DATA / "real_configs").glob("*.yml")],
    key=lambda p: (p.parent.name, p.name),
)


def orbs(*missing: tuple[int, int, str, str]) -> list[str]:
    """Orbs by reference are resolved by CircleCI's servers; runner reads only vendored ones, and
    none are vendored for these configs: each orb used is named at its line under ``orbs:``."""
    return [
        f"{line}:{col}: orbs.{alias}: orb '{ref}' is not vendored (no orb directory is set); "
        f"runner never downloads orbs (save its source: mkdir -p "
        f".circleci/orbs/{ref.split('/')[0]} && circleci orb source {ref} > "
        f".circleci/orbs/{ref}.yml)"
        for line, col, alias, ref in missing
    ]


# file -> the problems it is refused with, each without the file name in front
EXPECTED_FAILURES: dict[str, list[str]] = {
    "corpus/Automattic__simplenote-electron.yml": orbs(
        (4, 8, "win", "circleci/windows@2.2.0"),
    ),
    "corpus/CircleCI-Public__circleci-demo-go.yml": orbs(
        (4, 9, "snyk", "snyk/snyk@2.2.0"),
    ),
    "corpus/CircleCI-Public__circleci-demo-python-django.yml": orbs(
        (3, 11, "python", "circleci/python@1.5.0"),
        (4, 11, "heroku", "circleci/heroku@1.2.6"),
    ),
    "corpus/QuorumDMS__ftp-srv.yml": orbs(
        (4, 9, "node", "circleci/node@5.0.2"),
    ),
    "corpus/artsy__metaphysics.yml": orbs(
        (4, 12, "hokusai", "artsy/hokusai@volatile"),
        (5, 12, "horizon", "artsy/release@volatile"),
        (6, 9, "node", "circleci/node@6.3.0"),
    ),
    "corpus/facebook__flow.yml": orbs(
        (16, 8, "win", "circleci/windows@4.1.0"),
    ),
    "corpus/hashicorp__consul-k8s.yml": orbs(
        (4, 10, "slack", "circleci/slack@3.4.2"),
    ),
    "corpus/influxdata__telegraf.yml": orbs(
        (3, 8, "win", "circleci/windows@2.4.0"),
        (4, 12, "aws-cli", "circleci/aws-cli@1.4.0"),
    ),
    "corpus/mozilla-services__syncstorage-rs.yml": orbs(
        (16, 12, "gcp-gcr", "circleci/gcp-gcr@0.16.3"),
        (17, 12, "gcp-cli", "circleci/gcp-cli@3.3.1"),
    ),
    "corpus/ory__hydra.yml": orbs(
        (4, 15, "goreleaser", "ory/goreleaser@0.1.38"),
        (5, 10, "slack", "circleci/slack@3.4.2"),
        (6, 8, "sdk", "ory/sdk@0.1.52"),
        (7, 14, "changelog", "ory/changelog@0.1.10"),
        (9, 9, "docs", "ory/docs@0.0.12"),
        (11, 7, "go", "circleci/go@1.5.0"),
    ),
    "corpus/plotly__dash.yml": orbs(
        (4, 8, "win", "circleci/windows@5.0.0"),
        (5, 10, "percy", "percy/agent@0.1.3"),
        (6, 18, "browser-tools", "circleci/browser-tools@1.5.1"),
    ),
    "corpus/thanos-io__thanos.yml": orbs(
        (5, 7, "go", "circleci/go@1.5.0"),
    ),
    "real_configs/CircleCI-Public__aws-cli-orb.yml": orbs(
        (4, 12, "aws-cli", "circleci/aws-cli@dev:alpha"),
    ),
    "real_configs/CircleCI-Public__aws-ecr-orb.yml": orbs(
        (4, 14, "orb-tools", "circleci/orb-tools@10.0"),
        (5, 12, "aws-ecr", "circleci/aws-ecr@dev:alpha"),
    ),
    "real_configs/CircleCI-Public__docker-orb.yml": orbs(
        (31, 11, "docker", "circleci/docker@dev:alpha"),
        (32, 7, "jq", "circleci/jq@2.2.0"),
        (34, 14, "orb-tools", "circleci/orb-tools@10.1.0"),
    ),
    "real_configs/CircleCI-Public__gcp-gcr-orb.yml": orbs(
        (4, 12, "gcp-gcr", "circleci/gcp-gcr@dev:alpha"),
        (5, 14, "orb-tools", "circleci/orb-tools@9.1"),
    ),
    "real_configs/CircleCI-Public__go-orb.yml": orbs(
        (4, 14, "orb-tools", "circleci/orb-tools@12.0"),
        (5, 15, "shellcheck", "circleci/shellcheck@3.2"),
    ),
    "real_configs/CircleCI-Public__node-orb.yml": orbs(
        (4, 9, "node", "circleci/node@dev:alpha"),
        (5, 14, "orb-tools", "circleci/orb-tools@10.0"),
        (6, 15, "shellcheck", "circleci/shellcheck@2.2"),
    ),
    "real_configs/CircleCI-Public__python-orb.yml": orbs(
        (4, 11, "python", "circleci/python@dev:alpha"),
        (5, 14, "orb-tools", "circleci/orb-tools@10.0"),
    ),
    "real_configs/apollographql__apollo-server.yml": orbs(
        (4, 9, "node", "circleci/node@5.0.0"),
    ),
    "real_configs/cypress-io__cypress-realworld-app.yml": orbs(
        (3, 12, "cypress", "cypress-io/cypress@3.1.1"),
        (5, 8, "win", "circleci/windows@5.0.0"),
    ),
    "real_configs/facebook__jest.yml": orbs(
        (13, 9, "node", "circleci/node@4.0.0"),
    ),
    "real_configs/gatsbyjs__gatsby.yml": orbs(
        (2, 8, "win", "circleci/windows@2.4.0"),
    ),
    "real_configs/kedro-org__kedro.yml": orbs(
        (4, 8, "win", "circleci/windows@2.2.0"),
    ),
    "real_configs/mozilla-services__autopush-rs.yml": orbs(
        (23, 12, "gcp-gcr", "circleci/gcp-gcr@0.16.3"),
    ),
    "real_configs/mozilla__telemetry-airflow.yml": orbs(
        (13, 11, "docker", "circleci/docker@2.2.0"),
        (14, 11, "python", "circleci/python@2.1.1"),
    ),
    "real_configs/ory__kratos.yml": orbs(
        (4, 8, "sdk", "ory/sdk@0.1.13"),
        (5, 14, "changelog", "ory/changelog@0.0.5"),
        (6, 15, "goreleaser", "ory/goreleaser@0.0.11"),
        (7, 10, "nancy", "ory/nancy@0.0.8"),
    ),
    "real_configs/solidusio__solidus.yml": orbs(
        (4, 18, "browser-tools", "circleci/browser-tools@1.4.6"),
        (5, 12, "codecov", "codecov/codecov@3.2.3"),
    ),
    "real_configs/storybookjs__storybook.yml": orbs(
        (1069, 14, "discord", "antonioned/discord@0.1.0"),
        (1070, 24, "git-shallow-clone", "guitarrapc/git-shallow-clone@2.5.0"),
        (1073, 10, "win", "circleci/windows@5.0.0"),
    ),
    "real_configs/wordpress-mobile__WordPress-Android.yml": orbs(
        (16, 12, "android", "wordpress-mobile/android@0.0.19"),
        (17, 19, "bundle-install", "toshimaru/bundle-install@0.1.1"),
    ),
    # 2.0 beta syntax that CircleCI no longer reads: ``pod:``, ``shell:`` and
    # ``test_results_store`` steps (version 2, so the validator speaks)
    "real_configs/CircleCI-Public__circleci-demo-docker.yml": [
        "4:5: jobs.build.pod: unknown job key 'pod'",
        "4:5: jobs.build: a job needs an executor: 'docker', 'machine' or 'macos'",
        "13:9: jobs.build.steps[1].shell: unknown step 'shell'",
        "19:9: jobs.build.steps[2].shell: unknown step 'shell'",
        "28:9: jobs.build.steps[3].test_results_store: unknown step 'test_results_store'",
    ],
    # ``persist_to_workspace`` without its required ``root`` [CR]
    "real_configs/CircleCI-Public__circleci-demo-workflows.yml": [
        "12:11: jobs.checkout_code.steps[1].persist_to_workspace: missing required key 'root'",
        "33:11: jobs.bundle_dependencies.steps[6].persist_to_workspace: missing required key "
        "'root'",
        "66:11: jobs.precompile_assets.steps[4].persist_to_workspace: missing required key 'root'",
    ],
    # ``- type: shell`` is the 2.0 beta form of a run step
    "real_configs/chatwoot__chatwoot.yml": [
        "79:9: jobs.build.steps[14]: a step is a map with one key (its type); found 2 keys: type, "
        "command (indent the step's keys under its type, e.g. '- run:' then 'name:' and "
        "'command:' two spaces deeper)",
    ],
    # a stray ``build:`` inside a job, and a workflow running a job that does not exist
    "real_configs/facebook__react.yml": [
        "148:5: jobs.sizebot.build: unknown job key 'build'",
        "241:9: workflows.hourly.jobs[1].fuzz_tests: job 'fuzz_tests' is not defined under "
        "'jobs' (for a manual gate add 'type: approval')",
    ],
    # ``<<: *default`` names an anchor that the file never defines: not valid YAML
    "real_configs/mui__material-ui.yml": [
        "209:9: jobs.test_types.<<: unknown alias *default",
    ],
    "real_configs/wordpress-mobile__WordPress-iOS.yml": orbs(
        (5, 8, "ios", "wordpress-mobile/ios@1.0"),
    ),
}


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", FILES, ids=_key)
def test_config_loads_and_plans_or_fails_as_intended(path: Path) -> None:
    expected = EXPECTED_FAILURES.get(_key(path))
    if expected is None:
        config = load_config(path, path.name, LoadOptions())
        graph = plan(config, Selection(branch="main"))
        assert config.jobs
        assert {job.name for job in graph.jobs} <= {
            entry.name for workflow in config.workflows.values() for entry in workflow.jobs
        } | set(config.jobs)
        return
    with pytest.raises(ConfigError) as info:
        load_config(path, path.name, LoadOptions())
    assert str(info.value) == "\n".join(f"{path.name}:{line}" for line in expected)


def test_a_setup_config_with_the_continuation_orb_loads() -> None:
    # facebook/react-native's dynamic config: circleci/continuation is runner's own (issue 15)
    path = DATA / "real_configs" / "facebook__react-native.yml"
    config = load_config(path, path.name, LoadOptions())
    assert config.setup
    assert [job.name for job in plan(config, Selection(branch="main")).jobs] != []


def test_every_expected_failure_is_a_config_of_the_corpus() -> None:
    assert set(EXPECTED_FAILURES) <= {_key(path) for path in FILES}


def test_the_shared_corpus_is_complete() -> None:
    manifest = (DATA / "corpus" / "MANIFEST.tsv").read_text().splitlines()[1:]
    assert sorted(line.split("\t")[0] for line in manifest) == sorted(
        path.name for path in FILES if path.parent.name == "corpus")
