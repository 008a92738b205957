"""Every TimeLog operation the product calls, with the parameters it sends, and the data-contract members it sets.

`timesync doctor` holds a site's live WSDLs against this list; a test keeps the list complete (every operation
the product's code names is here).
"""

from __future__ import annotations

from timelog_api.services import Service

_REPORTING_LOGIN = ("siteCode", "apiID", "apiPassword")
_PAGE = ("page", "pageSize", "token")

OPERATIONS: dict[Service, dict[str, tuple[str, ...]]] = {
    Service.SECURITY: {
        "GetToken": ("user", "password"),
        "GetUser": ("token",),
        "GetTimeRegistrationSettings": ("token",),
    },
    Service.PROJECT_MANAGEMENT: {
        "GetProjectByID": ("projectID", "loadExternalKeys", "token"),
        "GetTaskByID": ("taskID", "loadExternalKeys", "token"),
        "GetTaskByExternalKey": ("key", "systemName", "token"),
        "CreateTask": ("task", "projectID", "token"),
        "CreateSubTask": ("task", "parentTaskId", "projectID", "token"),
        "UpdateTask": ("task", "projectID", "token"),
        "MoveTaskUnderParentTask": ("parentTaskID", "task", "changeToParentContract", "token"),
        "GetTasksModifiedInPeriodPaged": ("startDate", "endDate", *_PAGE),
        "AddEmployeeToTask": ("employeeID", "taskID", "BudgetHours", "token"),
        "GetAllocationsToEmployee": ("initials", "token"),
        "GetEmployeeWork": ("initials", "startDate", "endDate", "token"),
        "InsertWork": ("work", "source", "token"),
        "UpdateWork": ("work", "source", "token"),
        "DeleteWork": ("work", "source", "token"),
        "GetWorkChangeLogPaged": ("startDate", "endDate", "includeCreates", "includeUpdates", "includeDeletes",
                                  *_PAGE),
    },
    Service.ORGANISATION: {
        "GetEmployeesPaged": _PAGE,
        "GetDepartments": ("token",),
    },
    Service.REPORTING: {
        "GetWorkUnitsRawPaged": (*_REPORTING_LOGIN, "workUnitID", "employeeID", "allocationID", "taskID",
                                 "projectID", "departmentID", "startDate", "endDate", "page", "pageSize"),
        "GetTasksRaw": (*_REPORTING_LOGIN, "taskID", "projectID", "status", "taskTypeID"),
        "GetEmployeesRaw": (*_REPORTING_LOGIN, "employeeID", "initials", "departmentID", "status"),
        "GetProjectsRaw": (*_REPORTING_LOGIN, "projectID", "status", "customerID", "projectManagerID"),
        "GetCustomersRaw": (*_REPORTING_LOGIN, "customerID", "customerStatusID", "accountManagerID"),
        "GetAllocationsRaw": (*_REPORTING_LOGIN, "allocationID", "taskID", "employeeID", "projectID"),
    },
}

_TLP_1_7 = "http://www.timelog.com/api/tlp/v1_7"
_API = "http://api.timelog.com"

#: Data-contract members target-timelog sets in requests (qualified type name -> members), by service.
MEMBERS: dict[Service, dict[str, tuple[str, ...]]] = {
    Service.PROJECT_MANAGEMENT: {
        f"{{{_TLP_1_7}}}Task": ("Action", "IsCustomFieldsLoaded", "IsExternalKeysLoaded", "ExternalKeys", "ID",
                               "TaskID", "Name", "No", "Description", "BudgetHours", "StartDate", "EndDate",
                               "ProjectSubContractID", "State"),
        f"{{{_TLP_1_7}}}WorkUnit": ("GUID", "TaskID", "EmployeeInitials", "Duration", "StartDateTime", "EndDateTime",
                                   "Description", "AdditionalText", "BillableDuration"),
        f"{{{_API}}}ExternalSystemContext": ("SystemName", "ExternalID"),
    },
}
