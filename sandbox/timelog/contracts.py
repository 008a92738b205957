"""One declarative description of the Transactional services we simulate: services, operations, data contracts.

It drives the WSDL we serve (`wsdl.py`), the parsing of requests and the serialization of responses
(`soap.py`), so the three can never disagree. Names, namespaces, member order and SOAPActions follow
TimeLog's own WCF contracts (ProjectManagement V1_8/V1_7, Organisation V1_9/V1_7, Security V1_2).

Member specs are written `"Name:type"`; `*` marks an IsRequired member (minOccurs=1); `@1_9` marks a
member that only exists from that service version on. Types are `string int bool double long DateTime
Guid TimeSpan TimeSpan? base64 anyType XmlElement`, an enum, a data contract, or any of these with `[]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

# -- namespaces ----------------------------------------------------------------------------------------

NS_API = "http://api.timelog.com"
NS_CRM_1_2 = "http://api.timelog.com/services/crm/1_2"
NS_CUSTOM_FIELD = "http://api.timelog.com/services/customfield/1_0"
NS_COMMON = "http://schemas.datacontract.org/2004/07/TimeLog.TLP.Common"
NS_ATTRIBUTES = "http://schemas.datacontract.org/2004/07/TimeLog.TLP.Attributes"
NS_CUSTOM_FIELDS_ENUMS = "http://schemas.datacontract.org/2004/07/TimeLog.TLP.CustomFields"
NS_COMMUNICATION_1_0 = "http://schemas.datacontract.org/2004/07/TimeLog.TLP.API.Proxy.Communication.V1_0"
NS_COMMUNICATION_1_1 = "http://schemas.datacontract.org/2004/07/TimeLog.TLP.API.Proxy.Communication.V1_1"
NS_SECURITY_ENUMS = "http://schemas.datacontract.org/2004/07/TimeLog.TLP.Security"
NS_SERIALIZATION = "http://schemas.microsoft.com/2003/10/Serialization/"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
NS_XSD = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def tlp(version: str) -> str:
    """The TimeLog API namespace of a version, e.g. `tlp("1_7")` → http://www.timelog.com/api/tlp/v1_7."""
    return f"http://www.timelog.com/api/tlp/v{version}"


#: Placeholder namespace: "the namespace of the service version being served" (v1_8 at V1_8, v1_7 at V1_7).
SERVICE_NS = "{service}"

#: Built-in types and the XSD type that describes each in a WSDL.
PRIMITIVES: dict[str, tuple[str, str]] = {
    "string": (NS_XSD, "string"),
    "int": (NS_XSD, "int"),
    "long": (NS_XSD, "long"),
    "bool": (NS_XSD, "boolean"),
    "double": (NS_XSD, "double"),
    "DateTime": (NS_XSD, "dateTime"),
    "base64": (NS_XSD, "base64Binary"),
    "anyType": (NS_XSD, "anyType"),
    "Guid": (NS_SERIALIZATION, "guid"),
    "TimeSpan": (NS_SERIALIZATION, "duration"),
    "TimeSpan?": (NS_SERIALIZATION, "duration"),
}
#: Value types: WCF always writes them (never nil); everything else is nillable.
VALUE_TYPES = frozenset({"int", "long", "bool", "double", "DateTime", "Guid", "TimeSpan"})
#: An inline `xs:any` element (WCF's XmlElement members).
XML_ELEMENT = "XmlElement"


# -- the description types -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One DataMember, in serialization order."""

    name: str
    type: str
    required: bool = False
    since: tuple[int, int] | None = None

    @property
    def is_array(self) -> bool:
        return self.type.endswith("[]")

    @property
    def item_type(self) -> str:
        return self.type.removesuffix("[]")

    @property
    def nillable(self) -> bool:
        return self.is_array or self.type not in VALUE_TYPES


def members(spec: str) -> tuple[Member, ...]:
    """Parse `"Name:type Name2:type*  Name3:type@1_9"` into members."""
    result = []
    for token in spec.split():
        name, _, kind = token.partition(":")
        since = None
        if "@" in kind:
            kind, _, version = kind.partition("@")
            major, minor = version.split("_")
            since = (int(major), int(minor))
        required = kind.endswith("*")
        result.append(Member(name, kind.rstrip("*"), required, since))
    return tuple(result)


@dataclass(frozen=True)
class DataContract:
    """A WCF data contract: members of `base` come first, each in its declaring contract's namespace."""

    name: str
    namespace: str
    members: tuple[Member, ...] = ()
    base: str | None = None


@dataclass(frozen=True)
class Enumeration:
    """A WCF enum, serialized as the value name. `values` empty means "any name" (we never send one)."""

    name: str
    namespace: str
    values: tuple[str, ...] = ()


#: SOAPAction styles: TimeLog's older operations use `"<Op>Request"`, newer ones `"<ns>/<Service>/<Op>"`.
LEGACY_ACTION = "legacy"
VERSIONED_ACTION = "versioned"


@dataclass(frozen=True)
class Operation:
    """One service operation: parameters in order, the return type, its SOAPAction style, whether it writes."""

    name: str
    params: tuple[tuple[str, str], ...]
    returns: str
    action: str
    writes: bool = False


@dataclass(frozen=True)
class Service:
    """A Transactional service and the versions we serve of it."""

    name: str
    area: str
    versions: tuple[str, ...]
    operations: tuple[Operation, ...]
    contracts: tuple[DataContract | Enumeration, ...]
    #: Namespace of ResponseOf<T> and its Request/APIMessage members.
    response_namespace: str
    #: Whether ResponseOf<T> carries IsReturnPaged and TotalPageCount (all current services but Security).
    paged_responses: bool = True
    #: Whether `?wsdl` is WCF's multi-part form (`?wsdl=wsdl0` binding, `?xsd=xsdN` schemas), as the archived
    #: ProjectManagementServiceSecure22/23.wsdl and TimeTrackingService files are. Security's archived WSDL is one
    #: file and stays so; Organisation's is one file too, but is served in parts (strict reading).
    multipart_wsdl: bool = True
    #: Contract renames in older versions, e.g. V1_7 calls ProjectApiReadModel "Project".
    renames: dict[str, dict[str, str]] = field(default_factory=dict)

    def at(self, version: str) -> ServiceVersion:
        """This service as served at `version` (e.g. "V1_8"); one shared, lazily filled instance per version."""
        if version not in self.versions:
            raise KeyError(f"{self.name} is not served at {version}; versions: {', '.join(self.versions)}")
        key = (self.name, version)
        if key not in _SERVED:
            _SERVED[key] = ServiceVersion(self, version)
        return _SERVED[key]


_SERVED: dict[tuple[str, str], ServiceVersion] = {}


class ServiceVersion:
    """A service at one version: resolved namespaces, renamed and version-filtered contracts, SOAPActions."""

    def __init__(self, service: Service, version: str) -> None:
        self.service = service
        self.version = version
        self.namespace = tlp(version.removeprefix("V").lower())
        major, minor = version.removeprefix("V").split("_")
        self.version_tuple = (int(major), int(minor))
        self._renames = service.renames.get(version, {})
        self._declared = {c.name: c for c in service.contracts}
        self.operations = {op.name: op for op in service.operations}
        self._types: dict[str, DataContract | Enumeration] = {}
        self._chains: dict[str, list[tuple[Member, str]]] = {}

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def binding_namespace(self) -> str:
        """The namespace of the binding in a multi-part WSDL: ProjectManagementServiceSecure23.wsdl (`?wsdl=wsdl0`)
        declares it as `http://www.timelog.com/api/tlp/V1_7`, the version with a capital V."""
        return f"http://www.timelog.com/api/tlp/{self.version}"

    def soap_action(self, operation: Operation) -> str:
        """The SOAPAction TimeLog uses for `operation` at this version."""
        if operation.action == LEGACY_ACTION:
            return f"{operation.name}Request"
        return f"{self.namespace}/{self.service.name}/{operation.name}"

    @cached_property
    def operations_by_action(self) -> dict[str, Operation]:
        return {self.soap_action(op): op for op in self.service.operations}

    def xml_name(self, type_name: str) -> str:
        """The XML name of a contract at this version (after renames)."""
        return self._renames.get(type_name, type_name)

    def is_primitive(self, type_name: str) -> bool:
        return type_name in PRIMITIVES or type_name == XML_ELEMENT

    def lookup(self, type_name: str) -> DataContract | Enumeration:
        """The resolved contract or enum named `type_name` (generic wrappers are built on demand)."""
        found = self._types.get(type_name)
        if found is None:
            found = self._types[type_name] = self._resolve(type_name)
        return found

    def chain(self, contract: DataContract) -> list[tuple[Member, str]]:
        """Every member of `contract`, base members first, each with the namespace it is written in."""
        cached = self._chains.get(contract.name)
        if cached is not None:
            return cached
        result: list[tuple[Member, str]] = []
        if contract.base:
            base = self.lookup(contract.base)
            assert isinstance(base, DataContract)
            result.extend(self.chain(base))
        result.extend((member, contract.namespace) for member in contract.members)
        self._chains[contract.name] = result
        return result

    def _resolve(self, type_name: str) -> DataContract | Enumeration:
        if type_name in self._declared:
            declared = self._declared[type_name]
            namespace = self.namespace if declared.namespace == SERVICE_NS else declared.namespace
            if isinstance(declared, Enumeration):
                return Enumeration(declared.name, namespace, declared.values)
            kept = tuple(m for m in declared.members if m.since is None or m.since <= self.version_tuple)
            return DataContract(self.xml_name(declared.name), namespace, kept, declared.base)
        return self._generic(type_name)

    def _generic(self, type_name: str) -> DataContract:
        svc = self.service
        for prefix, builder in (
            ("BatchResponseOf", self._batch_response),
            ("ResponseOfBatchContainerOf", self._response_of_batch),
            ("BatchContainerOf", self._batch_container),
            ("ResponseOf", self._response),
        ):
            if type_name.startswith(prefix):
                return builder(type_name.removeprefix(prefix))
        raise KeyError(f"{svc.name} {self.version}: no data contract named {type_name!r}")

    def _response_members(self, item_type: str) -> tuple[Member, ...]:
        spec = (f"Return:{item_type}[] ReturnTypeDescription:string Request:Request ResponseState:ExecutionStatus "
                "Messages:APIMessage[] ErrorCode:int")
        if self.service.paged_responses:
            spec += " IsReturnPaged:bool TotalPageCount:int"
        return members(spec)

    def _response(self, item: str) -> DataContract:
        return DataContract(f"ResponseOf{self.xml_name(item)}", self.service.response_namespace,
                            self._response_members(item), "APIBase")

    def _response_of_batch(self, item: str) -> DataContract:
        return DataContract(f"ResponseOfBatchContainerOf{self.xml_name(item)}", self.service.response_namespace,
                            self._response_members(f"BatchContainerOf{item}"), "APIBase")

    def _batch_response(self, item: str) -> DataContract:
        return DataContract(f"BatchResponseOf{self.xml_name(item)}", tlp("1_2"), (),
                            f"ResponseOfBatchContainerOf{item}")

    def _batch_container(self, item: str) -> DataContract:
        return DataContract(f"BatchContainerOf{self.xml_name(item)}", tlp("1_2"),
                            members(f"Item:{item} Status:ExecutionStatus Message:string"), "APIBase")


# -- contracts shared by the current services ---------------------------------------------------------

_EXECUTION_STATUS = Enumeration("ExecutionStatus", NS_COMMON, ("NotSet", "Success", "Invalid", "Error"))
_SEVERITY = Enumeration("APIMessageSeverity", NS_COMMUNICATION_1_0, ("Error", "Invalid", "Message"))
_DATA_ACTION = Enumeration("DataAction", NS_ATTRIBUTES,
                           ("Original", "Created", "Updated", "Deleted", "Copied", "Undefined"))

_ENVELOPE_CONTRACTS: tuple[DataContract | Enumeration, ...] = (
    DataContract("APIBase", tlp("1_2")),
    DataContract("SecurityToken", tlp("1_3"), members("Initials:string* Expires:DateTime* Hash:string*"), "APIBase"),
    DataContract("Request", NS_API, members("Parameters:RequestParameter[] ServiceClass:string MethodName:string"),
                 "APIBase"),
    DataContract("RequestParameter", NS_API, members("Name:string Value:string")),
    DataContract("APIMessage", NS_API, members("Message:string Severity:APIMessageSeverity ErrorCode:int")),
    _EXECUTION_STATUS,
    _SEVERITY,
    _DATA_ACTION,
    DataContract("APIBaseExtended", NS_API, members(
        "Action:DataAction IsCustomFieldsLoaded:bool CustomFields:CustomField[] IsExternalKeysLoaded:bool "
        "ExternalKeys:ExternalSystemContext[]"), "APIBase"),
    DataContract("ExternalSystemContext", NS_API, members("SystemName:string ExternalID:string"), "APIBaseExtended"),
    DataContract("CustomField", NS_CUSTOM_FIELD, members(
        "SectionLabel:string SectionIdent:string Label:string Ident:string DomainType:DomainType "
        "DataType:DataTypeEnum DataValues:ValueOption[] Value:anyType SortOrder:int "
        "ValidationModel:ValidateModelEnum"), "APIBase"),
    DataContract("ValueOption", NS_CUSTOM_FIELD, members("Label:string SortOrder:int Value:anyType")),
    # DomainType has 250+ values that differ per version; we never send custom fields, so we do not list them.
    Enumeration("DomainType", NS_COMMON),
    Enumeration("DataTypeEnum", NS_CUSTOM_FIELDS_ENUMS, ("String", "Integer", "Float", "Date", "List", "CheckBox")),
    Enumeration("ValidateModelEnum", NS_CUSTOM_FIELDS_ENUMS, (
        "None", "IsNotEmptyOrWhiteSpace", "IsPositiveNumber", "IsNegativeNumber", "IsEmail", "IsNotNull")),
)


def _op(name: str, params: str, returns: str, action: str = VERSIONED_ACTION, writes: bool = False) -> Operation:
    """An operation from `"name:type name2:type"`; every operation but GetToken/IsAlive ends with the token."""
    parsed = tuple((m.name, m.type) for m in members(params))
    return Operation(name, parsed, returns, action, writes)


_TOKEN = "token:SecurityToken"

# -- SecurityService V1_2 -----------------------------------------------------------------------------

#: The RoleTypes enum of SecurityService V1_2 (GetUser's `Roles`).
SECURITY_ROLES = (
    "ExternalContractor", "ExternalSalesperson", "TeamLeader", "ProjectMember", "SalesPerson", "ProjectManager",
    "LimitedSectionManager", "SectionManager", "Manager", "SystemAdministrator", "UserCRM", "UserHelpDesk",
    "UserSalary", "SystemAdministration", "ProjectManagement", "CustomerContacts", "TimeTracking",
    "UserCanCreateProject", "UserCanEditOwnProjects", "UserCanEditAllProjects", "UserCanEditOwnDepartmentProjects",
    "CanBeAllocated")

SECURITY = Service(
    name="SecurityService",
    area="Security",
    versions=("V1_2",),
    response_namespace=tlp("1_1"),
    paged_responses=False,
    multipart_wsdl=False,
    operations=(
        _op("GetToken", "user:string password:string", "ResponseOfSecurityToken", LEGACY_ACTION),
        _op("GetUser", _TOKEN, "ResponseOfUser", LEGACY_ACTION),
        _op("GetTimeRegistrationSettings", _TOKEN, "ResponseOfTimeRegistrationSettings", LEGACY_ACTION),
        _op("IsAlive", "", "bool", LEGACY_ACTION),
    ),
    contracts=(
        DataContract("APIBase", NS_COMMUNICATION_1_1),
        DataContract("SecurityToken", tlp("1_2"), members("Initials:string* Expires:DateTime* Hash:string*"),
                     "APIBase"),
        DataContract("User", tlp("1_2"), members(
            "ID:int* Initials:string* FirstName:string* LastName:string* LanguageID:int* Roles:RoleTypes[]*"),
            "APIBase"),
        DataContract("Request", tlp("1_1"), members(
            "Parameters:RequestParameter[] ServiceClass:string MethodName:string"), "APIBase"),
        DataContract("RequestParameter", tlp("1_1"), members("Name:string Value:string")),
        DataContract("APIMessage", tlp("1_1"), members("Message:string Severity:APIMessageSeverity ErrorCode:int")),
        _EXECUTION_STATUS,
        _SEVERITY,
        Enumeration("RoleTypes", NS_SECURITY_ENUMS, SECURITY_ROLES),
        # SecurityServiceSecure.wsdl (archived) and transactional_contracts.json: members in this order, none
        # IsRequired; the values are documented in TimeLog.TLP.API.XML (GetTimeRegistrationSettings remarks).
        DataContract("TimeRegistrationSettings", tlp("1_2"), members(
            "UseCaseSensetiveLogin:bool UseWBS:bool UseTaskUniqueID:bool CustomerSortByNo:bool "
            "ProjectSortByNo:bool FormatingLCID:int UseStartEndTime:bool TimeTrackingShowCustomerNo:bool "
            "TimeTrackingShowCustomerName:bool TimeTrackingShowProjectNo:bool TimeTrackingShowWBS:bool "
            "TimeTrackingShowTaskID:bool AllowTimetrackingOnAllActiveProjects:bool "
            "TimeTrackingAllowRegistrationOverlap:bool ShowTimesheetAdditionalTextField:bool "
            "AdditionalTextFieldLabel:string AdditionalTextFieldValidation:int AdditionalTextFieldType:int "
            "NumberOfTasksReturnedInTrackerSearch:int LimitTrackerSearchToProjects:bool MaxReceivedMessageSize:int "
            "TrackerRequiredSpaceBeforeIncreaseStorage:int TrackerIncreaseStorageQuota:int"), "APIBase"),
    ),
)

# -- ProjectManagementService V1_8 / V1_7 -------------------------------------------------------------

_V1_7 = tlp("1_7")
_PAGED = "page:int pageSize:int"

PROJECT_MANAGEMENT = Service(
    name="ProjectManagementService",
    area="ProjectManagement",
    versions=("V1_8", "V1_7"),
    response_namespace=NS_API,
    renames={"V1_7": {"ProjectApiReadModel": "Project"}},
    operations=(
        # projects
        _op("GetProjects", f"customerID:int projectManagerID:int includeInactiveProjects:bool statusID:int {_TOKEN}",
            "ResponseOfProjectHeader", LEGACY_ACTION),
        _op("GetProjectByID", f"projectID:int loadExternalKeys:bool {_TOKEN}", "ResponseOfProjectApiReadModel"),
        _op("GetProjectsModifiedInPeriodPaged", f"startDate:DateTime endDate:DateTime {_PAGED} {_TOKEN}",
            "ResponseOfProjectApiReadModel"),
        # tasks
        _op("GetTasksByProjectId", f"projectGuid:Guid {_TOKEN}", "ResponseOfTask"),
        _op("GetProjectTasksPaged", f"projectGuid:Guid {_PAGED} {_TOKEN}", "ResponseOfProjectTaskFlat"),
        _op("GetTaskByID", f"taskID:int loadExternalKeys:bool {_TOKEN}", "ResponseOfTask"),
        _op("GetTaskById", f"taskGuid:Guid {_TOKEN}", "ResponseOfTask"),
        _op("GetTaskByExternalKey", f"key:string systemName:string {_TOKEN}", "ResponseOfTask", LEGACY_ACTION),
        _op("CreateTask", f"task:Task projectID:int {_TOKEN}", "BatchResponseOfTask", LEGACY_ACTION, writes=True),
        _op("CreateSubTask", f"task:Task parentTaskId:int projectID:int {_TOKEN}", "BatchResponseOfTask",
            LEGACY_ACTION, writes=True),
        _op("UpdateTask", f"task:Task projectID:int {_TOKEN}", "BatchResponseOfTask", LEGACY_ACTION, writes=True),
        _op("DeleteTask", f"taskGuid:Guid {_TOKEN}", "ResponseOfTask", LEGACY_ACTION, writes=True),
        _op("ChangeTaskStatus", f"taskGuid:Guid targetStatus:int {_TOKEN}", "ResponseOfTask", LEGACY_ACTION,
            writes=True),
        _op("GetTasksModifiedInPeriodPaged", f"startDate:DateTime endDate:DateTime {_PAGED} {_TOKEN}",
            "ResponseOfTask"),
        # ProjectManagementServiceSecure22.wsdl (V1_7) and transactional_contracts.json (V1_8): versioned SOAPAction.
        _op("MoveTaskUnderParentTask", f"parentTaskID:int task:Task changeToParentContract:bool {_TOKEN}",
            "ResponseOfTask", writes=True),
        # allocations
        _op("AddEmployeeToTask", f"employeeID:int taskID:int BudgetHours:double {_TOKEN}",
            "BatchResponseOfAllocation", LEGACY_ACTION, writes=True),
        _op("GetAllocationsToEmployee", f"initials:string {_TOKEN}", "ResponseOfAllocation", LEGACY_ACTION),
        _op("CreateAllocation", f"allocation:Allocation {_TOKEN}", "ResponseOfAllocation", LEGACY_ACTION,
            writes=True),
        _op("DeleteAllocation", f"allocationGuid:Guid {_TOKEN}", "ResponseOfAllocation", LEGACY_ACTION,
            writes=True),
        # work
        _op("GetEmployeeWork", f"initials:string startDate:DateTime endDate:DateTime {_TOKEN}",
            "ResponseOfWorkUnit", LEGACY_ACTION),
        _op("InsertWork", f"work:WorkUnit[] source:int {_TOKEN}", "BatchResponseOfWorkUnit", LEGACY_ACTION,
            writes=True),
        _op("UpdateWork", f"work:WorkUnit[] source:int {_TOKEN}", "BatchResponseOfWorkUnit", LEGACY_ACTION,
            writes=True),
        _op("DeleteWork", f"work:Guid[] source:int {_TOKEN}", "BatchResponseOfWorkUnit", LEGACY_ACTION,
            writes=True),
        _op("GetWorkPaged", f"initials:string startDate:DateTime endDate:DateTime {_PAGED} {_TOKEN}",
            "ResponseOfWorkUnitFlat"),
        _op("GetWorkChangesPaged",
            "initials:string registrationStartDate:DateTime registrationEndDate:DateTime "
            f"changeStartDate:DateTime changeEndDate:DateTime {_PAGED} {_TOKEN}", "ResponseOfWorkUnitFlat"),
        _op("GetWorkChangeLogPaged",
            "startDate:DateTime endDate:DateTime includeCreates:bool includeUpdates:bool includeDeletes:bool "
            f"{_PAGED} {_TOKEN}", "ResponseOfWorkUnitFlat"),
    ),
    contracts=(
        *_ENVELOPE_CONTRACTS,
        DataContract("ProjectHeader", _V1_7, members(
            "ID:int ProjectGUID:Guid Name:string No:string IsActive:bool IsGeneralProject:bool StartDate:DateTime "
            "EndDate:DateTime MainContractID:int"), "APIBase"),
        DataContract("ProjectApiReadModel", SERVICE_NS, members(
            "ID:Guid ProjectID:int CustomerID:int Name:string No:string Description:string Link:string "
            "StartDate:DateTime EndDate:DateTime IsInternalProject:bool ProjectManagerID:int AccountManagerID:int "
            "DepartmentHandledByID:int DepartmentOrderedByID:int TypeID:int CategoryID:int StageID:int "
            "LegalEntityID:int PriceGroupID:int ExchangeRate:double CurrencyID:int MainContractID:int "
            "BudgetWorkHoursFixedPriceProject:double BudgetWorkHoursFixedPriceTasks:double "
            "BudgetWorkHoursTimeAndMaterial:double BudgetWorkAmountFixedPriceProject:double "
            "BudgetWorkAmountFixedPriceTasks:double BudgetWorkAmountTimeAndMaterial:double "
            "BudgetAmountExpenses:double BudgetAmountTravelExpenses:double ProjectContactID:int "
            "PurchaseOrderNumber:string"), "APIBaseExtended"),
        DataContract("Task", _V1_7, members(
            "ID:Guid TaskID:int Name:string FullName:string No:string Description:string Link:string "
            "BudgetHours:double BudgetAmount:double StartDate:DateTime EndDate:DateTime TaskTypeID:int "
            "AdditionalTextIsRequired:bool ProjectSubContractID:int HourlyRateID:int IsReadyForInvoicing:bool "
            "Details:TaskDetails State:TaskState"), "APIBaseExtended"),
        DataContract("TaskDetails", _V1_7, members(
            "CustomerHeader:CustomerHeader ProjectHeader:ProjectHeader Type:TaskType CustomField:XmlElement "
            "WBS:string IsParent:bool ParentTaskID:int SortOrder:int")),
        DataContract("TaskState", _V1_7, members("IsActive:bool")),
        DataContract("TaskType", _V1_7, members("ID:int ID2:int Name:string Name2:string"), "APIBase"),
        DataContract("TaskHeader", _V1_7, members(
            "ID:int Name:string No:string IsActive:bool WBS:string FullName:string ExternalKey:string"), "APIBase"),
        DataContract("CustomerHeader", NS_CRM_1_2, members("ID:int Name:string No:string GUID:Guid"), "APIBase"),
        DataContract("Allocation", _V1_7, members(
            "AllocationID:int ID:Guid TaskID:int HoursAllocated:double HourlyRateID:int EmployeeID:int "
            "StartDate:DateTime EndDate:DateTime Details:AllocationDetails"), "APIBaseExtended"),
        DataContract("AllocationDetails", _V1_7, members("EmployeeHeader:EmployeeHeader")),
        DataContract("EmployeeHeader", tlp("1_5"), members(
            "ID:Guid EmployeeID:int Initials:string FirstName:string LastName:string EmployeeNo:string "
            "Fullname:string"), "APIBase"),
        DataContract("WorkUnit", _V1_7, members(
            "GUID:Guid AllocationGUID:Guid TaskID:int EmployeeInitials:string Duration:TimeSpan "
            "StartDateTime:DateTime EndDateTime:DateTime Description:string TimeStamp:base64 IsEditable:bool "
            "AdditionalText:string IsMeeting:bool BillableDuration:TimeSpan? Details:WorkUnitDetails"), "APIBase"),
        DataContract("WorkUnitDetails", _V1_7, members(
            "TaskHeader:TaskHeader ProjectHeader:ProjectHeader CustomerHeader:CustomerHeader")),
        DataContract("WorkUnitFlat", _V1_7, members(
            "Action:string ActionDate:DateTime ApprovedStatus:int CustomerGuid:Guid CustomerName:string "
            "CustomerNo:string Date:DateTime EmployeeDepartmentGuid:Guid EmployeeDepartmentName:string "
            "EmployeeDepartmentNo:string EmployeeGuid:Guid EmployeeInitials:string EmployeeInternalId:string "
            "Hours:double ProjectCategoryName:string ProjectDepartmentGuid:Guid ProjectDepartmentName:string "
            "ProjectDepartmentNo:string ProjectGuid:Guid ProjectName:string ProjectNo:string "
            "ProjectStatusName:string ProjectTypeName:string SalaryCode:string SalaryCodeGuid:Guid "
            "SalaryCodeName:string TaskGuid:Guid TaskName:string TaskNameChain:string TaskNo:string "
            "TaskNoChain:string TaskParentGuid:Guid TaskTypeName:string TaskWBS:string UserGuid:Guid UserId:int "
            "WorkUnitGuid:Guid"), "APIBase"),
        DataContract("ProjectTaskFlat", _V1_7, members(
            "CustomerGuid:Guid CustomerName:string CustomerNo:string ProjectCategoryName:string "
            "ProjectDepartmentGuid:Guid ProjectDepartmentName:string ProjectDepartmentNo:string ProjectGuid:Guid "
            "ProjectName:string ProjectNo:string ProjectStatusName:string ProjectTypeName:string "
            "TaskBudgetAmount:double TaskBudgetHours:double TaskDescription:string TaskEndDate:DateTime "
            "TaskGuid:Guid TaskHourlyRateAmount:double TaskHourlyRateName:string TaskID:int "
            "TaskInvoicingType:string TaskIsBillable:bool TaskIsReadyForInvoicing:bool TaskLink:string "
            "TaskName:string TaskNameChain:string TaskNo:string TaskNoChain:string TaskParentGuid:Guid "
            "TaskStartDate:DateTime TaskStatus:string TaskTypeName:string TaskWBS:string"), "APIBase"),
    ),
)

# -- OrganisationService V1_9 / V1_7 ------------------------------------------------------------------

ORGANISATION = Service(
    name="OrganisationService",
    area="Organisation",
    versions=("V1_9", "V1_7"),
    response_namespace=NS_API,
    operations=(
        _op("GetEmployeesPaged", f"{_PAGED} {_TOKEN}", "ResponseOfEmployee"),
        _op("GetEmployeesModifiedInPeriodPaged", f"startDate:DateTime endDate:DateTime {_PAGED} {_TOKEN}",
            "ResponseOfEmployee"),
        _op("GetEmployeeByUsername", f"username:string {_TOKEN}", "ResponseOfEmployeeHeader"),
        _op("GetDepartments", _TOKEN, "ResponseOfDepartment"),
    ),
    contracts=(
        *_ENVELOPE_CONTRACTS,
        DataContract("Employee", SERVICE_NS, members(
            "ID:Guid EmployeeID:int UserName:string@1_9 Initials:string FirstName:string LastName:string "
            "Fullname:string EmployeeNo:string Title:string DepartmentGuid:Guid DepartmentName:string "
            "DepartmentNo:string InterfaceLanguage:int Telephone:string Mobile:string PrivateAddress:string "
            "PrivateZip:string PrivateCity:string PrivateTelephone:string ExternalIdentifier:string "
            "HiredDate:DateTime TerminationDate:DateTime IsHired:bool IsLocked:bool CostPriceGuid:Guid "
            "CostPrice:double HourlyRateGuid:Guid HourlyRate:double SalaryGroupID:int@1_9"), "APIBaseExtended"),
        DataContract("EmployeeHeader", SERVICE_NS, members(
            "ID:Guid EmployeeID:int UserName:string@1_9 Initials:string FirstName:string LastName:string "
            "EmployeeNo:string Fullname:string"), "APIBase"),
        DataContract("Department", SERVICE_NS, members(
            "ID:Guid Name:string No:string ParentDepartmentGuid:Guid DepartmentManagerGuid:Guid DepartmentID:int"),
            "APIBaseExtended"),
    ),
)

SERVICES: dict[str, Service] = {s.name: s for s in (SECURITY, PROJECT_MANAGEMENT, ORGANISATION)}
#: URL area → service, e.g. `/WebServices/ProjectManagement/V1_8/…`.
SERVICES_BY_AREA: dict[str, Service] = {s.area: s for s in SERVICES.values()}
