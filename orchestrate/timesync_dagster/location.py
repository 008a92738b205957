"""The module workspace.yaml loads: the definitions of the registry in $TIMESYNC_TENANTS_FILE (default
./tenants.yml, from where Dagster starts)."""

from __future__ import annotations

import os

from timesync_dagster.definitions import TENANTS_FILE_ENV, build_definitions, read_registry, timesync_command

_command = timesync_command()
defs = build_definitions(read_registry(os.environ.get(TENANTS_FILE_ENV, "tenants.yml"), _command), _command)
