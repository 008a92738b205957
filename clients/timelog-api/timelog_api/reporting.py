"""TimeLog's Reporting API (`service.asmx`): flat XML documents of items, read with the site code and API login.

`ReportingCalls` is mixed into `TimeLogClient`; it uses the client's one retry policy, its redaction and its
login errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from lxml import etree

from timelog_api import convert
from timelog_api.errors import MalformedResponseError, TimeLogApiError, TimeLogConfigError
from timelog_api.items import ALL_IDS, ALL_PROJECT_STATUS, ALL_STATUS
from timelog_api.services import Service

if TYPE_CHECKING:
    from timelog_api.settings import TimeLogSettings

T = TypeVar("T")
#: Turns an answer (or one item of it) into what the caller wants; raising ValueError/KeyError marks it malformed.
Reader = Callable[[Any], T]
#: A Reporting item as `element_to_dict` reads it: attributes and child texts by local name.
ReportingItem = dict[str, str | None]


class Attempt(Protocol):
    """`TimeLogClient._attempt`: one retried send of an operation, its answer read by `read`."""

    def __call__(self, service: Service, operation: str, params: dict[str, Any], read: Reader[T], /) -> T: ...


REPORTING_ERRORS_ROOT = "Errors"
#: What a `Reader` raises for an answer it cannot make sense of: the answer is malformed.
UNREADABLE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)


class ReportingCalls:
    """The Reporting API calls of `TimeLogClient` (paged and unpaged, plus the full tables the product reads)."""

    settings: TimeLogSettings
    _task_items: list[dict[str, Any]] | None
    _attempt: Attempt
    redact: Callable[[str], str]
    _login_error: Callable[[Service, str], Exception]

    def _reporting_credentials(self) -> dict[str, str | None]:
        s = self.settings
        if not s.has_reporting:
            raise TimeLogConfigError(
                "the Reporting API needs site_code, reporting_username and reporting_password (TimeLog: System "
                "administration > Integrations and API > Reporting API)"
            )
        return {"siteCode": s.site_code, "apiID": s.reporting_username, "apiPassword": s.reporting_password}

    def _reporting_root(self, operation: str, result: Any) -> etree._Element:
        """The `tlp:` result document of a Reporting answer; a `tlp:Errors` document raises."""
        root: etree._Element | None = result if isinstance(result, etree._Element) else None
        if root is None:
            value = getattr(result, "_value_1", None)
            candidates = value if isinstance(value, list) else [value]
            root = next((v for v in candidates if isinstance(v, etree._Element)), None)
        if root is None:
            raise MalformedResponseError(operation, "no XML document in the result")
        if etree.QName(root).localname == REPORTING_ERRORS_ROOT:
            # lxml yields str here (lxml-stubs says str | bytes)
            text = self.redact(" ".join(t.strip() for t in root.itertext() if isinstance(t, str) and t.strip()))
            if "access denied" in text.lower() or "credential" in text.lower():
                raise self._login_error(Service.REPORTING, text)
            raise TimeLogApiError(operation, "Error", text)
        return root

    def _reporting(self, operation: str, params: dict[str, Any], read: Reader[T]) -> T:
        params = {**self._reporting_credentials(), **params}
        return self._attempt(Service.REPORTING, operation, params,
                             lambda result: read(self._reporting_root(operation, result)))

    @overload
    def reporting(self, operation: str, /, *, parse: Reader[T], **params: Any) -> list[T]: ...
    @overload
    def reporting(self, operation: str, /, **params: Any) -> list[ReportingItem]: ...

    def reporting(self, operation: str, /, *, parse: Reader[Any] = dict, **params: Any) -> list[Any]:
        """The items of an unpaged Reporting operation; `parse` gets each as a flat dict (see `element_to_dict`)."""
        return self._reporting(operation, params, lambda root: [parse(element_to_dict(i)) for i in _items(root)])

    @overload
    def reporting_paged(
        self, operation: str, /, *, page_size: int, parse: Reader[T],
        on_page: Callable[[int, int | None], None] | None = None, **params: Any,
    ) -> Iterator[T]: ...
    @overload
    def reporting_paged(
        self, operation: str, /, *, page_size: int,
        on_page: Callable[[int, int | None], None] | None = None, **params: Any,
    ) -> Iterator[ReportingItem]: ...

    def reporting_paged(
        self, operation: str, /, *, page_size: int, parse: Reader[Any] = dict,
        on_page: Callable[[int, int | None], None] | None = None, **params: Any,
    ) -> Iterator[Any]:
        """Every item of a paged Reporting operation (`page`/`pageSize`, root `TotalPages`), page by page.

        `on_page(page, total_pages)` runs after each page is read, so a long read can report its progress.
        """
        page = 1
        while True:
            def read(root: etree._Element) -> tuple[list[Any], int | None]:
                return [parse(element_to_dict(i)) for i in _items(root)], convert.to_int(root.get("TotalPages"))

            items, total = self._reporting(operation, {**params, "page": str(page), "pageSize": str(page_size)}, read)
            if on_page is not None:
                on_page(page, total)
            yield from items
            if len(items) < page_size or (total is not None and page >= total):
                return
            page += 1

    # -- the full tables ------------------------------------------------------------------------------------

    @overload
    def employees(self) -> list[ReportingItem]: ...
    @overload
    def employees(self, parse: Reader[T]) -> list[T]: ...

    def employees(self, parse: Reader[Any] = dict) -> list[Any]:
        """Every employee (GetEmployeesRaw, every status), each `parse`d. Reporting has no employee GUID: see
        `TimeLogClient.employee_guids`."""
        return self.reporting("GetEmployeesRaw", employeeID=ALL_IDS, initials="", departmentID=ALL_IDS,
                              status=ALL_STATUS, parse=parse)

    @overload
    def projects(self) -> list[ReportingItem]: ...
    @overload
    def projects(self, parse: Reader[T]) -> list[T]: ...

    def projects(self, parse: Reader[Any] = dict) -> list[Any]:
        """Every project (GetProjectsRaw, every status), each `parse`d."""
        return self.reporting("GetProjectsRaw", projectID=ALL_IDS, status=ALL_PROJECT_STATUS, customerID=ALL_IDS,
                              projectManagerID=ALL_IDS, parse=parse)

    @overload
    def tasks(self) -> list[ReportingItem]: ...
    @overload
    def tasks(self, parse: Reader[T]) -> list[T]: ...

    def tasks(self, parse: Reader[Any] = dict) -> list[Any]:
        """Every task (all levels, every status) from Reporting GetTasksRaw, each `parse`d.

        Read once per client: the tap's `tasks` stream and `task_guids` share one call (tasks this client
        creates later are not in it).
        """
        if self._task_items is not None:
            try:
                return [parse(item) for item in self._task_items]
            except UNREADABLE_ERRORS as exc:
                raise MalformedResponseError("GetTasksRaw", f"{type(exc).__name__}: {self.redact(str(exc))}") from None
        pairs = self.reporting("GetTasksRaw", taskID=ALL_IDS, projectID=ALL_IDS, status=ALL_STATUS, taskTypeID=ALL_IDS,
                               parse=lambda item: (item, parse(item)))
        self._task_items = [item for item, _ in pairs]
        return [parsed for _, parsed in pairs]

    def task_guids(self) -> dict[int, str | None]:
        """TaskID -> task GUID (the Reporting work rows carry only TaskID)."""
        return dict(self.tasks(parse=lambda item: (int(item["ID"]), convert.to_guid(item["GUID"]))))


def _items(root: etree._Element) -> list[etree._Element]:
    return [item for item in root if isinstance(item.tag, str)]


def element_to_dict(element: etree._Element) -> ReportingItem:
    """A flat Reporting item: its attributes, then each child element's text, keyed by local name."""
    record: ReportingItem = {str(name): str(value) for name, value in element.attrib.items()}
    for child in element:
        if isinstance(child.tag, str):
            record[etree.QName(child).localname] = child.text
    return record
