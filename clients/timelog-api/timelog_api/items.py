"""Facts about the Reporting API's items that callers need without the client (no zeep, no lxml): the filter values
that select everything, the active status, and the elements a work item must carry."""

from __future__ import annotations

from timelog_api.convert import require

#: Reporting status filters: -1 is "all" for employees, tasks and customers, but -2 for projects.
ALL_STATUS = -1
ALL_PROJECT_STATUS = -2
ALL_IDS = 0
#: An item's `Status` when it is active (employees, projects, tasks).
ACTIVE_STATUS = 1
#: A GetWorkUnitsRaw `tlp:WorkUnit` must carry these (GetWorkUnitsRaw.xsd); a row without one is malformed.
WORK_ITEM_FIELDS = ("TimeRegistrationGuid", "WorkUnitGuid", "EmployeeID", "TaskID", "Date", "RegHours",
                    "LastModifiedAt")
#: The parse for GetWorkUnitsRawPaged items: checked, passed through (inside the retried read, so a row without
#: one of them is malformed and read again).
require_work_item = require(*WORK_ITEM_FIELDS)
