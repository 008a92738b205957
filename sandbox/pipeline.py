"""Run the project's real `meltano` CLI against a running sandbox, isolated from other runs.

Used by the demo, the end-to-end tests and the benchmarks. Every run gets its own Meltano system database,
ledger and output folder, so parallel test workers and a developer's own runs never share state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import credentials

REPO_ROOT = Path(__file__).resolve().parent.parent
MELTANO = str(Path(sys.executable).parent / "meltano")
#: The plugin venvs `meltano install` builds under the project's .meltano/, shared by every isolated run.
PLUGIN_VENV_DIRS = ("extractors", "loaders", "mappers", "utilities")


def sandbox_plugin_env(forecast_url: str, timelog_url: str | None, harvest_url: str | None = None) -> dict[str, str]:
    """Environment variables that point every plugin at a sandbox on non-default ports."""
    env = {
        "TAP_FORECAST_BASE_URL": forecast_url,
        "TARGET_FORECAST_BASE_URL": forecast_url,
        "TAP_FORECAST_API_KEY": credentials.FORECAST_API_KEY,
        "TARGET_FORECAST_API_KEY": credentials.FORECAST_API_KEY,
    }
    if timelog_url:
        for plugin in ("TAP_TIMELOG", "TARGET_TIMELOG"):
            env |= {
                f"{plugin}_DOMAIN": timelog_url,
                f"{plugin}_ACCOUNT": credentials.TIMELOG_ACCOUNT,
                f"{plugin}_USERNAME": credentials.TIMELOG_USERNAME,
                f"{plugin}_PASSWORD": credentials.TIMELOG_PASSWORD,
                f"{plugin}_SITE_CODE": credentials.TIMELOG_SITE_CODE,
                f"{plugin}_REPORTING_USERNAME": credentials.TIMELOG_REPORTING_USERNAME,
                f"{plugin}_REPORTING_PASSWORD": credentials.TIMELOG_REPORTING_PASSWORD,
            }
    if harvest_url:
        env |= harvest_plugin_env(harvest_url)
    return env


def harvest_plugin_env(harvest_url: str, start_date: str = "2026-01-01T00:00:00Z") -> dict[str, str]:
    """tap-harvest's settings for the Harvest simulator, and the launcher's two URLs (tap-harvest-launcher/)."""
    return {
        "TAP_HARVEST_API_URL": f"{harvest_url}/v2",
        "TAP_HARVEST_ID_URL": f"{harvest_url}/api/v2",
        "TAP_HARVEST_CLIENT_ID": credentials.HARVEST_CLIENT_ID,
        "TAP_HARVEST_CLIENT_SECRET": credentials.HARVEST_CLIENT_SECRET,
        "TAP_HARVEST_REFRESH_TOKEN": credentials.HARVEST_REFRESH_TOKEN,
        "TAP_HARVEST_USER_AGENT": credentials.HARVEST_USER_AGENT,
        "TAP_HARVEST_START_DATE": start_date,
    }


@dataclass
class MeltanoRun:
    """The outcome of one `meltano` invocation."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Everything the command printed."""
        return self.stdout + self.stderr


@dataclass
class IsolatedMeltano:
    """`meltano` in the repo's project, with its own system DB, ledger, links file and output folder."""

    workdir: Path
    plugin_env: dict[str, str] = field(default_factory=dict)
    links_path: Path | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Meltano keeps per-run files (the catalog, the config) under <sys dir>/run/<plugin>/ and deletes them
        # when a run ends, so two runs sharing the repo's .meltano/ break each other. Each isolated project
        # gets its own sys dir that links to the shared, already installed plugin venvs.
        for name in PLUGIN_VENV_DIRS:
            shared = REPO_ROOT / ".meltano" / name
            shared.mkdir(parents=True, exist_ok=True)
            link = self.sys_dir / name
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(shared, target_is_directory=True)

    @property
    def sys_dir(self) -> Path:
        """This project's own .meltano/ (system database, run files; plugin venvs linked)."""
        return self.workdir / ".meltano"

    @property
    def ledger_url(self) -> str:
        """The SQLite ledger of this isolated project."""
        return f"sqlite:///{self.workdir / 'ledger.db'}"

    @property
    def harvest_ledger_url(self) -> str:
        """The SQLite ledger of this isolated project's job harvest-to-timelog (its own, as in meltano.yml)."""
        return f"sqlite:///{self.workdir / 'harvest-ledger.db'}"

    @property
    def output_dir(self) -> Path:
        """Where target-csv writes."""
        return self.workdir / "output"

    def env(self) -> dict[str, str]:
        """The full environment of a run."""
        env = dict(os.environ)
        env |= {
            "MELTANO_SYS_DIR_ROOT": str(self.sys_dir),
            "MELTANO_DATABASE_URI": f"sqlite:///{self.sys_dir / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            # Not `sandbox`: its settings point at the default ports, and a utility's `env` there would override
            # the ports this project's sandbox runs on.
            "MELTANO_ENVIRONMENT": "isolated",
            "TARGET_CSV_OUTPUT_PATH": str(self.output_dir),
        }
        for plugin in ("TARGET_TIMELOG", "TARGET_FORECAST", "TIMESYNC_RECONCILE", "TIMESYNC"):
            env[f"{plugin}_LEDGER_URL"] = self.ledger_url
        # Job harvest-to-timelog's ledger (meltano.yml: one variable for its mapper, target and CLI).
        env["TIMESYNC_HARVEST_LEDGER_URL"] = self.harvest_ledger_url
        if self.links_path:
            for plugin in ("TIMESYNC_RECONCILE", "TIMESYNC"):
                env[f"{plugin}_LINKS_PATH"] = str(self.links_path)
        return env | self.plugin_env

    def meltano(self, *args: str, timeout: float = 900) -> MeltanoRun:
        """Run `meltano ARGS` in the project root and capture its output."""
        completed = subprocess.run(
            [MELTANO, *args], cwd=REPO_ROOT, env=self.env(), capture_output=True, text=True,
            timeout=timeout, check=False,
        )
        return MeltanoRun(list(args), completed.returncode, completed.stdout, completed.stderr)

    def run(self, *blocks: str, timeout: float = 900) -> MeltanoRun:
        """`meltano run BLOCKS…` with a state id of its own."""
        return self.meltano("run", "--state-id-suffix", self.workdir.name, *blocks, timeout=timeout)
