"""The command records the reconcile mapper emits and the targets apply: one stream, one schema."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from singer_sdk import typing as th

# One stream keeps the order between kinds (a task before the work on it; the delete half of a move before
# its create half). With one stream per kind an SDK target drains each sink on its own and loses that order.
COMMAND_STREAM = "commands"
COMMAND_KEY = ("command_id",)


class CommandKind(StrEnum):
    """What a command asks the target to do."""

    TASK_UPSERT = "task_upsert"  # TimeLog: CreateTask/CreateSubTask (external key) or UpdateTask
    ALLOCATION = "allocation"  # TimeLog: AddEmployeeToTask
    WORK_CREATE = "work_create"
    WORK_UPDATE = "work_update"
    WORK_DELETE = "work_delete"
    REGISTRATION_CREATE = "registration_create"
    REGISTRATION_UPDATE = "registration_update"
    REGISTRATION_DELETE = "registration_delete"


CREATE_KINDS = frozenset({CommandKind.TASK_UPSERT, CommandKind.ALLOCATION, CommandKind.WORK_CREATE,
                          CommandKind.REGISTRATION_CREATE})

_OBJECT = th.ObjectType(additional_properties=True)
_SNAPSHOT = th.ObjectType(additional_properties=True)

COMMAND_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property("command_id", th.StringType, required=True,
                description="Unique id: 'r<run>-<seq>' (a replay keeps its original id)."),
    th.Property("run_id", th.IntegerType, required=True, description="The mapper's run in the ledger."),
    th.Property("seq", th.IntegerType, required=True, description="Apply commands in this order."),
    th.Property("direction", th.StringType, required=True,
                allowed_values=["forecast_to_timelog", "timelog_to_forecast"]),
    th.Property("kind", th.StringType, required=True, allowed_values=[kind.value for kind in CommandKind]),
    th.Property("action", th.StringType, required=True,
                description="The rule's action: create, update, delete or move (a move is a delete then a create, "
                            "both with action 'move' and the same pair)."),
    th.Property("pair_id", th.IntegerType, required=True, description="The ledger pair this command belongs to."),
    th.Property("pair_kind", th.StringType, required=True,
                allowed_values=["task", "project_time_task", "allocation", "time_entry"]),
    th.Property("source_id", th.StringType, required=True, description="Native id on the source side."),
    th.Property("twin_id", th.StringType, description="Native id of the twin (update, delete); null for creates."),
    th.Property("canonical", _OBJECT, required=True, description="The source entity in canonical form."),
    th.Property("native", _OBJECT, required=True,
                description="The target-native payload from the adapter (ids resolved at write time: depends_on)."),
    th.Property("source_snapshot", _SNAPSHOT, description="The source side's base after success."),
    th.Property("twin_snapshot", _SNAPSHOT,
                description="The twin as it will read after the write; stored as its base (no echo)."),
    th.Property("expected_base", _SNAPSHOT,
                description="Lease: the twin must still equal this right before an update or delete; else conflict."),
    th.Property("source_change", th.StringType, allowed_values=["new", "changed", "unchanged", "deleted"]),
    th.Property("depends_on", th.ArrayType(th.ObjectType(
        th.Property("pair_kind", th.StringType, required=True),
        th.Property("forecast_id", th.StringType, required=True),
        th.Property("field", th.StringType, required=True,
                    description="The key of `native` to fill in."),
        th.Property("snapshot_field", th.StringType,
                    description="The key of `twin_snapshot` and `fingerprint` to fill in."),
    )), description="TimeLog ids to resolve from the ledger at write time (Ledger.resolve_dependencies)."),
    th.Property("lookup_first", th.BooleanType,
                description="An earlier attempt may have created it: find it by external key or fingerprint first."),
    th.Property("external_key", th.StringType, description="Tasks: the Forecast id stored as TimeLog external key."),
    th.Property("fingerprint", _SNAPSHOT,
                description="Work/registration creates: person, date, task, minutes, note of the twin to look for."),
    th.Property("conflict_policy", th.StringType, description="park | forecast_wins | timelog_wins | newest_wins"),
    th.Property("delete_policy", th.StringType, description="propagate | park | ignore"),
    th.Property("source_updated_at", th.DateTimeType, description="For newest_wins."),
).to_dict()
