"""The timesync admin CLI: links suggest/check, status, pairs, conflicts list/resolve, ledger backup/rebuild,
run-lock, finish, doctor, plan (rich tables or --json), report, listen, webhooks subscribe/list/remove and
tenants check/prepare/run.

Each group of commands is a module that registers itself on the root group (`timesync.cli.base.cli`).
"""

from __future__ import annotations

from timesync.cli import (
    ledger_commands,
    links_commands,
    pair_commands,
    run_commands,
    tenant_commands,
    webhook_commands,
)
from timesync.cli.base import (
    FORECAST_ENV_PREFIX,
    MAPPER_DRY_RUN_ENV,
    TIMELOG_ENV_PREFIX,
    CliError,
    Services,
    cli,
    env_config,
)
from timesync.report.command import report as report_command

__all__ = ["FORECAST_ENV_PREFIX", "MAPPER_DRY_RUN_ENV", "TIMELOG_ENV_PREFIX", "CliError", "Services", "cli",
           "env_config", "ledger_commands", "links_commands", "main", "pair_commands", "run_commands",
           "tenant_commands", "webhook_commands"]

# `timesync report`: one HTML page (or --json) of what the sync did and whether both sides agree.
cli.add_command(report_command)


def main() -> None:
    """Console entry point (`timesync`, also `meltano invoke timesync`)."""
    cli(prog_name="timesync")


if __name__ == "__main__":
    main()
