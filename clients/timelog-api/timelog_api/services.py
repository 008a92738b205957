"""The TimeLog services the client talks to: where each lives under `<domain>/<account>/`, and its token type."""

from __future__ import annotations

from enum import StrEnum

#: The token type lives in this namespace in every service except SecurityService (which uses v1_2).
TOKEN_NAMESPACE = "http://www.timelog.com/api/tlp/v1_3"
SECURITY_TOKEN_NAMESPACE = "http://www.timelog.com/api/tlp/v1_2"
#: OrganisationService.GetEmployeesPaged allows at most 100 per page.
EMPLOYEES_PAGE_SIZE = 100


class Service(StrEnum):
    """The TimeLog services this client talks to, and their path under `<domain>/<account>/`."""

    SECURITY = "WebServices/Security/V1_2/SecurityServiceSecure.svc"
    PROJECT_MANAGEMENT = "WebServices/ProjectManagement/V1_8/ProjectManagementServiceSecure.svc"
    ORGANISATION = "WebServices/Organisation/V1_9/OrganisationServiceSecure.svc"
    REPORTING = "service.asmx"

    @property
    def label(self) -> str:
        """The name TimeLog gives the service (`ProjectManagementService`, `Reporting`)."""
        return "Reporting" if self is Service.REPORTING else self.value.rsplit("/", 1)[-1].removesuffix("Secure.svc")

    @property
    def token_namespace(self) -> str:
        """Where this service's `SecurityToken` type lives (TimeLog's docs: v1_2 in SecurityService, else v1_3)."""
        return SECURITY_TOKEN_NAMESPACE if self is Service.SECURITY else TOKEN_NAMESPACE
