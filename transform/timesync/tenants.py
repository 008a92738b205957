"""The tenant registry (tenants.yml): the company pairs one installation syncs, each with its own Meltano state,
ledger, links file and credentials.

The registry names where every secret comes from (an environment variable), never the secret itself. What a
tenant's `meltano run sync` needs is built here once, for `timesync tenants run`, the Dagster code location
(orchestrate/) and anything else that starts a tenant's sync.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from timesync.backfill import meltano_executable
from timesync.yaml_files import Lines, load_checked

DEFAULT_FILE = "tenants.yml"
DEFAULT_ENVIRONMENT = "prod"
DEFAULT_SCHEDULE = "*/15 * * * *"
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY_SECONDS = 60
#: Meltano keeps a run's files under <sys dir>/run/<plugin>/ and deletes them when the run ends, so two tenants'
#: runs must not share a sys dir. Each tenant's links to the project's installed plugin venvs.
PLUGIN_VENV_DIRS = ("extractors", "loaders", "mappers", "utilities")
#: The plugins of job `sync` that read the ledger, and those that read the links file (Meltano's env var names).
LEDGER_PLUGINS = ("TARGET_TIMELOG", "TARGET_FORECAST", "TIMESYNC_RECONCILE", "TIMESYNC")
LINKS_PLUGINS = ("TIMESYNC_RECONCILE", "TIMESYNC")
#: Each tool's settings: the plugins that take them, the secret ones (only ever named by a variable), and the
#: ones a tenant must give.
TOOLS: dict[str, dict[str, Any]] = {
    "forecast": {
        "plugins": ("TAP_FORECAST", "TARGET_FORECAST"),
        "settings": ("base_url", "api_key"),
        "secret": ("api_key",),
        "required": ("api_key",),
    },
    "timelog": {
        "plugins": ("TAP_TIMELOG", "TARGET_TIMELOG"),
        "settings": ("domain", "account", "username", "password", "site_code", "reporting_username",
                     "reporting_password"),
        "secret": ("password", "site_code", "reporting_password"),
        "required": ("domain", "account", "username", "password"),
    },
}
_NAME = "^[a-z][a-z0-9_]{0,62}$"
_ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _tool_schema(tool: str) -> dict[str, Any]:
    spec = TOOLS[tool]
    properties: dict[str, Any] = {}
    for setting in spec["settings"]:
        properties[f"{setting}_env"] = {"type": "string", "pattern": _ENV_NAME}
        if setting not in spec["secret"]:
            properties[setting] = {"type": "string", "minLength": 1}
    return {"type": "object", "additionalProperties": False, "properties": properties}


_ALERT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["kind"],
         "properties": {"kind": {"const": "log"}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "url_env"],
         "properties": {"kind": {"const": "webhook"}, "url_env": {"type": "string", "pattern": _ENV_NAME}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "to", "smtp_host"],
         "properties": {"kind": {"const": "email"}, "to": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "from": {"type": "string"}, "smtp_host": {"type": "string"},
                        "smtp_port": {"type": "integer", "minimum": 1, "maximum": 65535}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "callable"],
         "properties": {"kind": {"const": "python"},
                        "callable": {"type": "string", "pattern": r"^[\w.]+:[\w]+$"}}},
    ],
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["tenants"],
    "properties": {
        "project_root": {"type": "string", "minLength": 1},
        "sys_root": {"type": "string", "minLength": 1},
        "meltano_database_uri": {"type": "string", "minLength": 1},
        "orchestrator": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "schedule": {"type": "string", "minLength": 9},
                "schedule_status": {"enum": ["running", "stopped"]},
                "retries": {"type": "integer", "minimum": 0, "maximum": 20},
                "retry_delay_seconds": {"type": "number", "minimum": 0},
                "alert": _ALERT_SCHEMA,
            },
        },
        "tenants": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "ledger_url", "links_path", "forecast", "timelog"],
                "properties": {
                    "name": {"type": "string", "pattern": _NAME},
                    "environment": {"type": "string", "minLength": 1},
                    "state_id_suffix": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                    "ledger_url": {"type": "string", "minLength": 1},
                    "links_path": {"type": "string", "minLength": 1},
                    "schedule": {"type": "string", "minLength": 9},
                    "forecast": _tool_schema("forecast"),
                    "timelog": _tool_schema("timelog"),
                },
            },
        },
    },
}


class TenantsError(ValueError):
    """A tenant registry that cannot be used; the message names the file, the line and the field."""


def expand(value: str, environ: Mapping[str, str]) -> str:
    """``value`` with every ``${NAME}`` replaced by that environment variable (TenantsError names a missing one)."""
    missing = [name for name in _REFERENCE.findall(value) if name not in environ]
    if missing:
        raise TenantsError(f"environment variable {missing[0]} is not set")
    return _REFERENCE.sub(lambda match: environ[match.group(1)], value)


@dataclass(frozen=True)
class Tenant:
    """One company pair: its Meltano environment and state id, ledger, links file and credentials."""

    name: str
    environment: str
    state_id_suffix: str
    ledger_url: str
    links_path: Path
    schedule: str
    #: (tool, setting) -> the value written in tenants.yml (never a secret).
    values: dict[tuple[str, str], str]
    #: (tool, setting) -> the environment variable that holds it here.
    variables: dict[tuple[str, str], str]
    line: int = 0

    def variables_needed(self) -> list[str]:
        """Every environment variable this tenant reads: its settings', and those its URLs reference."""
        referenced = [name for url in (self.ledger_url,) for name in _REFERENCE.findall(url)]
        return sorted({*self.variables.values(), *referenced})

    def settings_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Meltano's variables for this tenant's plugin settings (TAP_FORECAST_API_KEY, …), read from ``environ``."""
        missing = [name for name in self.variables.values() if not environ.get(name)]
        if missing:
            raise TenantsError(f"tenant {self.name}: environment variable(s) {', '.join(sorted(set(missing)))} "
                               "not set (tenants.yml names them as where its settings come from)")
        env: dict[str, str] = {}
        chosen = self.values | {key: environ[name] for key, name in self.variables.items()}
        for (tool, setting), value in chosen.items():
            for plugin in TOOLS[tool]["plugins"]:
                env[f"{plugin}_{setting.upper()}"] = value
        return env


@dataclass(frozen=True)
class Orchestrator:
    """How an orchestrator runs every tenant: schedule, retries with backoff, where failures are reported."""

    schedule: str = DEFAULT_SCHEDULE
    schedule_running: bool = True
    retries: int = DEFAULT_RETRIES
    retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS
    alert: dict[str, Any] = field(default_factory=lambda: {"kind": "log"})


@dataclass(frozen=True)
class Registry:
    """tenants.yml: the Meltano project, where each tenant's Meltano files go, and the tenants."""

    source: Path
    project_root: Path
    sys_root: Path
    meltano_database_uri: str | None
    orchestrator: Orchestrator
    tenants: tuple[Tenant, ...]

    def tenant(self, name: str) -> Tenant:
        """The tenant called ``name`` (TenantsError lists the names there are)."""
        for tenant in self.tenants:
            if tenant.name == name:
                return tenant
        raise TenantsError(f"{self.source}: no tenant called {name!r} (there are: "
                           f"{', '.join(t.name for t in self.tenants)})")

    def sys_dir(self, tenant: Tenant) -> Path:
        """The tenant's own Meltano sys dir (run files, logs; its system database unless one is shared)."""
        return self.sys_root / tenant.name

    def meltano_database(self, tenant: Tenant, environ: Mapping[str, str]) -> str:
        """Meltano's system database (its state: the taps' bookmarks) for this tenant's runs."""
        if self.meltano_database_uri:
            return expand(self.meltano_database_uri, environ)
        return f"sqlite:///{self.sys_dir(tenant) / 'meltano.db'}"

    def run_env(self, tenant: Tenant, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The whole environment of one of ``tenant``'s Meltano commands: ``environ`` (default: this process's)
        with its settings, ledger, links file, Meltano environment, sys dir and system database."""
        base = dict(os.environ if environ is None else environ)
        env = base | tenant.settings_env(base) | {
            "MELTANO_ENVIRONMENT": tenant.environment,
            "MELTANO_SYS_DIR_ROOT": str(self.sys_dir(tenant)),
            "MELTANO_DATABASE_URI": self.meltano_database(tenant, base),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        }
        ledger_url = expand(tenant.ledger_url, base)
        for plugin in LEDGER_PLUGINS:
            env[f"{plugin}_LEDGER_URL"] = ledger_url
        for plugin in LINKS_PLUGINS:
            env[f"{plugin}_LINKS_PATH"] = str(tenant.links_path)
        return env

    def prepare(self, tenant: Tenant) -> Path:
        """Create the tenant's sys dir, linked to the project's installed plugin venvs; return it."""
        sys_dir = self.sys_dir(tenant)
        for name in PLUGIN_VENV_DIRS:
            shared = self.project_root / ".meltano" / name
            link = sys_dir / name
            if not link.is_symlink() and not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(shared.resolve(), target_is_directory=True)
        return sys_dir

    def sync_argv(self, tenant: Tenant, job: str = "sync", meltano: str | None = None) -> list[str]:
        """`meltano run` of ``job`` under the tenant's state id."""
        return [meltano or default_meltano(), "run", "--state-id-suffix", tenant.state_id_suffix, job]


def default_meltano() -> str:
    """The `meltano` beside this Python (an orchestrator's venv), else the one the usual lookup finds."""
    sibling = Path(sys.executable).with_name("meltano")
    return str(sibling) if sibling.exists() else meltano_executable()


def parse_tenants(text: str, source: Path) -> Registry:
    """Validate registry text and return the Registry, or raise TenantsError naming the file, line and field."""
    data, lines = load_checked(text, SCHEMA, str(source), TenantsError,
                               "the file is empty; it needs a 'tenants' list", explain=_explain)
    base = source.parent
    project_root = (base / data.get("project_root", ".")).resolve()
    tenants = tuple(_tenant(item, index, data, lines, base, source) for index, item in enumerate(data["tenants"]))
    _reject_shared(tenants, lines, source)
    raw = data.get("orchestrator") or {}
    orchestrator = Orchestrator(
        schedule=raw.get("schedule", DEFAULT_SCHEDULE),
        schedule_running=raw.get("schedule_status", "running") == "running",
        retries=raw.get("retries", DEFAULT_RETRIES),
        retry_delay_seconds=raw.get("retry_delay_seconds", DEFAULT_RETRY_DELAY_SECONDS),
        alert=raw.get("alert", {"kind": "log"}),
    )
    meltano_uri = data.get("meltano_database_uri")
    if meltano_uri:
        _reject_inline_password(meltano_uri, source, lines, ("meltano_database_uri",))
    return Registry(source=source, project_root=project_root,
                    sys_root=(base / data["sys_root"]).resolve() if "sys_root" in data
                    else project_root / ".meltano" / "tenants",
                    meltano_database_uri=meltano_uri, orchestrator=orchestrator, tenants=tenants)


def _explain(path: tuple[Any, ...]) -> str | None:
    """A secret written into the file: say where it goes instead (its value is never repeated)."""
    if len(path) == 4 and path[0] == "tenants" and path[2] in TOOLS and path[3] in TOOLS[path[2]]["secret"]:
        return (f"{path[3]} is a secret and never goes in tenants.yml: set {path[3]}_env to the name of the "
                "environment variable that holds it")
    return None


def _tenant(item: dict[str, Any], index: int, data: dict[str, Any], lines: Lines, base: Path,
            source: Path) -> Tenant:
    path = ("tenants", index)
    values: dict[tuple[str, str], str] = {}
    variables: dict[tuple[str, str], str] = {}
    for tool, spec in TOOLS.items():
        section = item[tool]
        for setting in spec["settings"]:
            if setting in section and f"{setting}_env" in section:
                raise TenantsError(f"{source}, line {lines[(*path, tool, setting)]}, field "
                                   f"tenants.[{index}].{tool}.{setting}: give {setting} or {setting}_env, not both")
            if setting in section:
                values[(tool, setting)] = section[setting]
            elif f"{setting}_env" in section:
                variables[(tool, setting)] = section[f"{setting}_env"]
            elif setting in spec["required"]:
                hint = f"{setting}_env" if setting in spec["secret"] else f"{setting} (or {setting}_env)"
                raise TenantsError(f"{source}, line {lines[(*path, tool)]}, field tenants.[{index}].{tool}: "
                                   f"{hint} is required")
    _reject_inline_password(item["ledger_url"], source, lines, (*path, "ledger_url"))
    return Tenant(
        name=item["name"],
        environment=item.get("environment", DEFAULT_ENVIRONMENT),
        state_id_suffix=item.get("state_id_suffix", item["name"]),
        ledger_url=item["ledger_url"],
        links_path=(base / item["links_path"]).resolve(),
        schedule=item.get("schedule", (data.get("orchestrator") or {}).get("schedule", DEFAULT_SCHEDULE)),
        values=values, variables=variables, line=lines[path],
    )


def _reject_inline_password(url: str, source: Path, lines: Lines, path: tuple[Any, ...]) -> None:
    """A database URL names its password through ``${VARIABLE}``: tenants.yml holds no secret."""
    password = urlsplit(url).password
    if password and not _REFERENCE.fullmatch(password):
        where = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path)
        raise TenantsError(f"{source}, line {lines[path]}, field {where}: the URL holds a password; write "
                           "${VARIABLE} in its place and set that variable where the sync runs")


def _reject_shared(tenants: tuple[Tenant, ...], lines: Lines, source: Path) -> None:
    """Two tenants never share a name, a Meltano state id, a ledger or a links file: each is one company pair."""
    for attribute, what in (("name", "name"), ("state_id_suffix", "state id suffix"), ("ledger_url", "ledger_url"),
                            ("links_path", "links_path")):
        first: dict[Any, Tenant] = {}
        for tenant in tenants:
            key = (tenant.environment, tenant.state_id_suffix) if attribute == "state_id_suffix" \
                else getattr(tenant, attribute)
            if key in first:
                raise TenantsError(
                    f"{source}, lines {first[key].line} and {tenant.line}: tenants {first[key].name} and "
                    f"{tenant.name} share the {what} {getattr(tenant, attribute)}; every company pair needs its own")
            first[key] = tenant


def load_tenants(path: str | Path) -> Registry:
    """Read and validate a tenant registry."""
    file = Path(path).resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TenantsError(f"{file}: tenant registry not found (copy tenants.example.yml, or pass --file)") from exc
    return parse_tenants(text, file)
