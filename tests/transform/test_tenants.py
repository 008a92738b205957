"""The tenant registry (tenants.yml) and `timesync tenants list|check|prepare|run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from timesync.cli import cli
from timesync.cli.tenant_commands import EXIT_CONFIG
from timesync.tenants import TenantsError, load_tenants, parse_tenants

REPO_ROOT = Path(__file__).resolve().parents[2]
LINKS = {"projects": [{"forecast": 1, "timelog": 2}], "persons": [{"forecast": 3, "timelog": 4}]}


def tenant(name: str, **overrides: object) -> dict:
    upper = name.upper()
    entry = {
        "name": name,
        "ledger_url": f"postgresql+psycopg://sync:${{{upper}_DB_PASSWORD}}@db/timesync_{name}",
        "links_path": f"links-{name}.yml",
        "forecast": {"api_key_env": f"{upper}_FORECAST_API_KEY"},
        "timelog": {"domain": "https://app1.timelog.com", "account": name, "username": "sync",
                    "password_env": f"{upper}_TIMELOG_PASSWORD"},
    }
    return entry | overrides


def write(tmp_path: Path, registry: dict) -> Path:
    for entry in registry.get("tenants", []):
        (tmp_path / entry["links_path"]).write_text(yaml.safe_dump(LINKS), encoding="utf-8")
    path = tmp_path / "tenants.yml"
    path.write_text(yaml.safe_dump({"project_root": str(REPO_ROOT)} | registry, sort_keys=False), encoding="utf-8")
    return path


def env_of(*names: str) -> dict[str, str]:
    env = {}
    for name in names:
        upper = name.upper()
        env |= {f"{upper}_DB_PASSWORD": f"db-{name}", f"{upper}_FORECAST_API_KEY": f"fk-{name}",
                f"{upper}_TIMELOG_PASSWORD": f"tp-{name}"}
    return env


def test_each_tenant_gets_its_own_settings_ledger_links_state_id_and_sys_dir(tmp_path: Path) -> None:
    registry = load_tenants(write(tmp_path, {"tenants": [tenant("acme"), tenant("globex", environment="staging",
                                                                              state_id_suffix="gx")]}))
    acme, globex = registry.tenants
    env = registry.run_env(acme, env_of("acme", "globex"))
    assert env["TAP_FORECAST_API_KEY"] == env["TARGET_FORECAST_API_KEY"] == "fk-acme"
    assert env["TAP_TIMELOG_PASSWORD"] == env["TARGET_TIMELOG_PASSWORD"] == "tp-acme"
    assert env["TAP_TIMELOG_ACCOUNT"] == "acme"
    for plugin in ("TARGET_TIMELOG", "TARGET_FORECAST", "TIMESYNC_RECONCILE", "TIMESYNC"):
        assert env[f"{plugin}_LEDGER_URL"] == "postgresql+psycopg://sync:db-acme@db/timesync_acme"
    assert env["TIMESYNC_RECONCILE_LINKS_PATH"] == str(tmp_path / "links-acme.yml")
    assert env["MELTANO_ENVIRONMENT"] == "prod"
    assert env["MELTANO_SYS_DIR_ROOT"] == str(REPO_ROOT / ".meltano" / "tenants" / "acme")
    assert env["MELTANO_DATABASE_URI"].startswith("sqlite:///")
    assert "/tenants/acme/" in env["MELTANO_DATABASE_URI"]
    other = registry.run_env(globex, env_of("acme", "globex"))
    assert other["MELTANO_ENVIRONMENT"] == "staging"
    assert other["TAP_FORECAST_API_KEY"] == "fk-globex"
    assert registry.sync_argv(globex, meltano="meltano") == ["meltano", "run", "--state-id-suffix", "gx", "sync"]
    assert registry.sync_argv(acme, meltano="meltano")[3] == "acme"


def test_a_shared_meltano_database_and_schedules_come_from_the_file(tmp_path: Path) -> None:
    registry = load_tenants(write(tmp_path, {
        "meltano_database_uri": "postgresql+psycopg://m:${M_PW}@db/meltano",
        "orchestrator": {"schedule": "*/10 * * * *", "retries": 5, "schedule_status": "stopped",
                         "alert": {"kind": "webhook", "url_env": "HOOK"}},
        "tenants": [tenant("acme"), tenant("globex", schedule="5 * * * *")],
    }))
    assert [t.schedule for t in registry.tenants] == ["*/10 * * * *", "5 * * * *"]
    assert registry.orchestrator.retries == 5
    assert registry.orchestrator.schedule_running is False
    assert registry.orchestrator.alert == {"kind": "webhook", "url_env": "HOOK"}
    env = registry.run_env(registry.tenants[0], env_of("acme") | {"M_PW": "pw"})
    assert env["MELTANO_DATABASE_URI"] == "postgresql+psycopg://m:pw@db/meltano"


@pytest.mark.parametrize(("change", "message"), [
    ({"forecast": {"api_key": "hunter2"}}, "field tenants.[0].forecast.api_key: api_key is a secret and never goes"),
    ({"timelog": {"domain": "x", "account": "a", "username": "u"}}, "password_env is required"),
    ({"ledger_url": "postgresql+psycopg://sync:hunter2@db/x"}, "the URL holds a password"),
    ({"name": "Acme Corp"}, "field tenants.[0].name"),
    ({"colour": "blue"}, "field tenants.[0].colour"),
    ({"timelog": {"domain": "x", "domain_env": "Y", "account": "a", "username": "u", "password_env": "P"}},
     "give domain or domain_env, not both"),
])
def test_a_wrong_entry_is_refused_naming_the_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    path = write(tmp_path, {"tenants": [tenant("acme") | change]})
    with pytest.raises(TenantsError) as raised:
        load_tenants(path)
    assert message in str(raised.value)
    assert f"{path}, line" in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("shared", ["name", "ledger_url", "links_path", "state_id_suffix"])
def test_two_tenants_never_share_a_name_state_id_ledger_or_links_file(tmp_path: Path, shared: str) -> None:
    first, second = tenant("acme", state_id_suffix="acme"), tenant("globex", state_id_suffix="globex")
    second[shared] = first[shared]
    if shared == "links_path":
        (tmp_path / first["links_path"]).write_text(yaml.safe_dump(LINKS), encoding="utf-8")
    with pytest.raises(TenantsError, match="every company pair needs its own"):
        parse_tenants(yaml.safe_dump({"tenants": [first, second]}), tmp_path / "tenants.yml")


def test_a_missing_variable_is_named_and_no_value_is_shown(tmp_path: Path) -> None:
    registry = load_tenants(write(tmp_path, {"tenants": [tenant("acme")]}))
    env = env_of("acme")
    del env["ACME_TIMELOG_PASSWORD"]
    with pytest.raises(TenantsError, match="ACME_TIMELOG_PASSWORD") as raised:
        registry.run_env(registry.tenants[0], env)
    assert "fk-acme" not in str(raised.value)


def test_an_empty_or_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TenantsError, match="tenant registry not found"):
        load_tenants(tmp_path / "nope.yml")
    with pytest.raises(TenantsError, match="needs a 'tenants' list"):
        parse_tenants("", tmp_path / "tenants.yml")


def test_prepare_links_the_installed_plugin_venvs_into_the_tenant_sys_dir(tmp_path: Path) -> None:
    registry = load_tenants(write(tmp_path, {"sys_root": "sys", "tenants": [tenant("acme")]}))
    sys_dir = registry.prepare(registry.tenants[0])
    assert sys_dir == tmp_path / "sys" / "acme"
    for name in ("extractors", "loaders", "mappers", "utilities"):
        assert (sys_dir / name).resolve() == (REPO_ROOT / ".meltano" / name).resolve()
    assert registry.prepare(registry.tenants[0]) == sys_dir  # a second time changes nothing


# -- the CLI -------------------------------------------------------------------------------------------------

def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_check_passes_when_every_file_and_variable_is_there(tmp_path: Path) -> None:
    path = write(tmp_path, {"tenants": [tenant("acme"), tenant("globex")]})
    code, output = invoke("--json", "tenants", "check", "--file", str(path), env=env_of("acme", "globex"))
    assert code == 0, output
    data = json.loads(output)
    assert [t["tenant"] for t in data["tenants"]] == ["acme", "globex"]
    assert data["problems"] == []
    assert "ACME_TIMELOG_PASSWORD" in data["tenants"][0]["variables"]
    assert "tp-acme" not in output


def test_check_lists_every_problem_and_fails(tmp_path: Path) -> None:
    path = write(tmp_path, {"tenants": [tenant("acme", environment="nowhere"), tenant("globex")]})
    (tmp_path / "links-globex.yml").unlink()
    env = dict.fromkeys(env_of("acme", "globex"), "") | {"ACME_FORECAST_API_KEY": "fk-acme"}
    code, output = invoke("--json", "tenants", "check", "--file", str(path), env=env)
    assert code == 1
    problems = json.loads(output.split("Error:")[0])["problems"]
    text = json.dumps(problems)
    assert "Meltano environment 'nowhere' is not in meltano.yml" in text
    assert "links-globex.yml: links file not found" in text
    assert "ACME_TIMELOG_PASSWORD" in text
    assert "GLOBEX_FORECAST_API_KEY" in text
    assert "fk-acme" not in output
    code, output = invoke("--json", "tenants", "check", "--skip-env", "--file", str(path), env=env)
    assert code == 1
    assert "not set" not in json.dumps(json.loads(output.split("Error:")[0])["problems"])


def test_list_gives_an_orchestrator_what_it_needs(tmp_path: Path) -> None:
    path = write(tmp_path, {"orchestrator": {"retries": 2}, "tenants": [tenant("acme", schedule="1 * * * *")]})
    code, output = invoke("--json", "tenants", "list", "--file", str(path))
    assert code == 0, output
    data = json.loads(output)
    assert data["file"] == str(path)
    assert data["orchestrator"]["retries"] == 2
    assert data["orchestrator"]["alert"] == {"kind": "log"}
    assert data["tenants"] == [{"name": "acme", "environment": "prod", "state_id_suffix": "acme",
                                "schedule": "1 * * * *"}]


def test_run_refuses_with_exit_78_before_starting_meltano_when_a_variable_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path, {"sys_root": "sys", "tenants": [tenant("acme")]})
    env = dict.fromkeys(env_of("acme"), "")
    result = CliRunner().invoke(cli, ["tenants", "run", "--file", str(path), "acme"], env=env)
    assert result.exit_code == EXIT_CONFIG
    assert "ACME_FORECAST_API_KEY" in result.output
    assert not (tmp_path / "sys").exists()  # refused before anything was prepared or started
    result = CliRunner().invoke(cli, ["tenants", "run", "--file", str(path), "initech"], env=env_of("acme"))
    assert result.exit_code == EXIT_CONFIG
    assert "no tenant called 'initech' (there are: acme)" in result.output
