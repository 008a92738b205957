"""A TimeLog site's time registration settings, and the one rule the sync needs from them: when a registration
must carry an additional text (SecurityService.GetTimeRegistrationSettings, TimeLog.TLP.API.XML)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from timelog_api.errors import TimeLogApiError, TimeLogConfigError
from timelog_api.services import Service

if TYPE_CHECKING:
    from timelog_api.client import TimeLogClient

logger = logging.getLogger(__name__)

#: AdditionalTextFieldValidation: 0 no validation, 1 where the task's AdditionalTextIsRequired, 2 always.
ADDITIONAL_TEXT_PER_TASK = 1
ADDITIONAL_TEXT_ALWAYS = 2
#: AdditionalTextFieldType 2: the text must be a whole number.
ADDITIONAL_TEXT_INTEGER = 2


def registration_settings(client: TimeLogClient) -> Mapping[str, Any]:
    """The site's time registration settings for the API user; empty when the site will not tell (TimeLog then
    refuses the items that lack a text, one by one, saying why)."""
    try:
        found = client.fetch(Service.SECURITY, "GetTimeRegistrationSettings")
    except (TimeLogApiError, TimeLogConfigError) as exc:  # refused, or not in this site's WSDL
        logger.warning("could not read TimeLog's time registration settings (%s); assuming no additional text is "
                       "required", exc)
        return {}
    return found[0] if found else {}


def additional_text_required(settings: Mapping[str, Any], task_requires: Callable[[], bool]) -> bool:
    """Whether a registration needs an additional text; `task_requires` reads the task's own flag when it matters."""
    validation = int(settings.get("AdditionalTextFieldValidation") or 0)
    return validation == ADDITIONAL_TEXT_ALWAYS or (validation == ADDITIONAL_TEXT_PER_TASK and task_requires())


def additional_text_problem(settings: Mapping[str, Any], text: str) -> str | None:
    """Why TimeLog would refuse `text` as the additional text, or None."""
    if int(settings.get("AdditionalTextFieldType") or 0) == ADDITIONAL_TEXT_INTEGER and not text.strip().isdigit():
        return f"this site takes a whole number as the additional text, not {text!r}"
    return None
