"""Each plugin setting is declared once: the plugin's `config_jsonschema` is the source of truth, meltano.yml copies it.

For every plugin of ours in meltano.yml (and every plugin inheriting from one), each `settings` entry must match
the schema property of the same name: kind, `sensitive` (the schema's `secret`), label (the schema's `title`),
description (identical text) and default `value` (the schema's `default`). A setting in one and not the other
fails, and so does a `settings_group_validation` other than the schema's `required`. A difference the Meltano
side needs is listed below with its reason; nothing else may differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from singer_sdk.helpers import capabilities

from tap_forecast.tap import TapForecast
from tap_timelog.tap import TapTimeLog
from target_forecast.target import TargetForecast
from target_timelog.target import TargetTimeLog
from timesync.reconcile.mapper import ReconcileMapper

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The schema each of our plugins (by meltano.yml `namespace`) reads its config with.
SCHEMAS: dict[str, dict[str, Any]] = {
    "tap_forecast": TapForecast.config_jsonschema,
    "tap_timelog": TapTimeLog.config_jsonschema,
    "target_timelog": TargetTimeLog.config_jsonschema,
    "target_forecast": TargetForecast.config_jsonschema,
    "timesync_reconcile": ReconcileMapper.config_jsonschema,
    # The `timesync` utility (a click CLI, no jsonschema of its own) takes the mapper's two settings, with the
    # same meaning, as TIMESYNC_LEDGER_URL and TIMESYNC_LINKS_PATH.
    "timesync": {"properties": {name: ReconcileMapper.config_jsonschema["properties"][name]
                                for name in ("ledger_url", "links_path")}},
}
#: Plugins in meltano.yml that are not ours, so have no schema here.
NOT_OURS = {
    "tap-harvest": "singer-io's published tap-harvest, unmodified (its settings are its README's)",
    "tap-harvest--sync": "tap-harvest as job harvest-to-timelog selects it",
    "tap-harvest--recheck": "tap-harvest as job harvest-to-timelog-recheck selects it",
    "target-csv": "MeltanoLabs' target-csv from the Hub",
}
#: singer-sdk's built-in settings (stream maps, flattening, batch, the targets' load options). The SDK adds them to
#: a plugin class's config_jsonschema when the first instance is made, so whether a test sees them depends on test
#: order; Meltano takes them from the plugin's `capabilities`, so meltano.yml does not declare them.
SDK_BUILT_IN = frozenset(name for value in vars(capabilities).values()
                         if isinstance(value, dict) and isinstance(value.get("properties"), dict)
                         for name in value["properties"])
#: Meltano-only settings: in meltano.yml, not in the schema, with why.
MELTANO_ONLY: dict[tuple[str, str], str] = {}
#: Schema properties meltano.yml leaves out, with why.
SCHEMA_ONLY: dict[tuple[str, str], str] = {}
#: Defaults meltano.yml sets differently from the schema (or where the schema has none), with why.
MELTANO_VALUE: dict[tuple[str, str], str] = {
    **{(plugin, "ledger_url"): "the schema's default is the SDK's None, which the ledger resolves relative to the "
                               "working directory; Meltano pins it under the project root for every plugin alike"
       for plugin in ("target-timelog", "target-forecast", "timesync-reconcile", "timesync")},
    **{(plugin, "links_path"): "the schema's links.yml is relative to the working directory; Meltano pins the "
                               "project root's"
       for plugin in ("timesync-reconcile", "timesync")},
}


def _plugins() -> list[dict[str, Any]]:
    config = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    return [plugin for group in config["plugins"].values() for plugin in group]


def _namespace(plugin: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> str | None:
    while "namespace" not in plugin and "inherit_from" in plugin:
        plugin = by_name[plugin["inherit_from"]]
    return plugin.get("namespace")


def expected_kind(spec: dict[str, Any]) -> str:
    """The Meltano `kind` of a jsonschema property (`string` is Meltano's default when `kind` is left out)."""
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    assert len(types) == 1, f"one JSON type per setting, not {types}"
    if "enum" in spec:
        return "options"
    if types[0] == "string" and spec.get("format") in {"date-time", "date"}:
        return "date_iso8601"
    return {"number": "decimal"}.get(types[0], types[0])


def mismatches(plugin: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """What in one meltano.yml plugin entry disagrees with its schema."""
    name = plugin["name"]
    properties = {key: spec for key, spec in schema["properties"].items() if key not in SDK_BUILT_IN}
    declared = {setting["name"]: setting for setting in plugin.get("settings", [])}
    problems = []
    for setting_name, setting in declared.items():
        spec = properties.get(setting_name)
        if spec is None:
            if (name, setting_name) not in MELTANO_ONLY:
                problems.append(f"{name}.{setting_name}: in meltano.yml, not in the plugin's config_jsonschema")
            continue
        where = f"{name}.{setting_name}"
        kind = setting.get("kind", "string")
        if kind == "password":
            problems.append(f"{where}: kind password is Meltano's old spelling; say `sensitive: true`")
        elif kind != expected_kind(spec):
            problems.append(f"{where}: kind {kind}, the schema says {expected_kind(spec)}")
        if kind == "options" and [o["value"] for o in setting.get("options", [])] != spec.get("enum"):
            problems.append(f"{where}: options {setting.get('options')}, the schema's enum is {spec.get('enum')}")
        if bool(setting.get("sensitive")) != bool(spec.get("secret")):
            problems.append(f"{where}: sensitive {bool(setting.get('sensitive'))}, the schema's secret is "
                            f"{bool(spec.get('secret'))}")
        if setting.get("label") != spec.get("title"):
            problems.append(f"{where}: label {setting.get('label')!r}, the schema's title is {spec.get('title')!r}")
        if not spec.get("description"):
            problems.append(f"{where}: the schema has no description")
        elif setting.get("description") != spec["description"]:
            problems.append(f"{where}: description {setting.get('description')!r}, the schema's is "
                            f"{spec['description']!r}")
        if (name, setting_name) not in MELTANO_VALUE and setting.get("value") != spec.get("default"):
            problems.append(f"{where}: value {setting.get('value')!r}, the schema's default is "
                            f"{spec.get('default')!r}")
    if "settings" in plugin or "inherit_from" not in plugin:
        for setting_name in properties.keys() - declared.keys():
            if (name, setting_name) not in SCHEMA_ONLY:
                problems.append(f"{name}.{setting_name}: in the plugin's config_jsonschema, not in meltano.yml")
    required = schema.get("required", [])
    groups = plugin.get("settings_group_validation")
    checked = groups is not None or ("inherit_from" not in plugin and required)
    if checked and [sorted(group) for group in groups or []] != ([sorted(required)] if required else []):
        problems.append(f"{name}: settings_group_validation {groups}, the schema requires {required}")
    return problems


def test_every_plugin_in_meltano_yml_is_checked_or_named_as_not_ours() -> None:
    by_name = {plugin["name"]: plugin for plugin in _plugins()}
    unchecked = [name for name, plugin in by_name.items()
                 if _namespace(plugin, by_name) not in SCHEMAS and name not in NOT_OURS]
    assert unchecked == []


@pytest.mark.parametrize("plugin", [p for p in _plugins() if p["name"] not in NOT_OURS], ids=lambda p: p["name"])
def test_meltano_yml_settings_match_the_plugins_config_jsonschema(plugin: dict[str, Any]) -> None:
    by_name = {p["name"]: p for p in _plugins()}
    schema = SCHEMAS[_namespace(plugin, by_name)]
    problems = mismatches(plugin, schema)
    assert not problems, "meltano.yml differs from the plugin's config_jsonschema:\n" + "\n".join(problems)


def test_the_check_finds_a_changed_description_a_missing_setting_and_a_lost_secret() -> None:
    schema = TapTimeLog.config_jsonschema
    by_name = {p["name"]: p for p in _plugins()}
    plugin = yaml.safe_load(yaml.safe_dump(by_name["tap-timelog"]))
    password = next(s for s in plugin["settings"] if s["name"] == "password")
    password["description"] += " (edited)"
    del password["sensitive"]
    plugin["settings"] = [s for s in plugin["settings"] if s["name"] != "site_code"]
    plugin["settings"].append({"name": "colour"})
    problems = "\n".join(mismatches(plugin, schema))
    assert "tap-timelog.password: description" in problems
    assert "tap-timelog.password: sensitive False" in problems
    assert "tap-timelog.site_code: in the plugin's config_jsonschema, not in meltano.yml" in problems
    assert "tap-timelog.colour: in meltano.yml, not in the plugin's config_jsonschema" in problems
