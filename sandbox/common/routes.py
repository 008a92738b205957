"""Path templates such as `/api/v1/time_registrations/{id}`: matching, parameters and stats keys (REST simulators)."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Placeholders that are not integer ids (Forecast's). Timestamps and dates match any segment so that a wrong
#: format gets a 400 that names the expected format instead of a bare 404.
TEXT_PLACEHOLDERS = ("ts", "date", "custom_id")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


@dataclass(frozen=True)
class Route:
    """One method and path template, served by the handler named `handler`."""

    method: str
    template: str
    handler: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """The template as an anchored regex with one named group per placeholder."""
        def group(match: re.Match[str]) -> str:
            name = match.group(1)
            return f"(?P<{name}>[^/]+)" if name in TEXT_PLACEHOLDERS else rf"(?P<{name}>\d+)"
        return re.compile("^" + _PLACEHOLDER.sub(group, self.template) + "$")

    @property
    def operation(self) -> str:
        """Stats key, e.g. `PUT /api/v1/time_registrations/{id}`."""
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class Match:
    """A matched route and its path parameters (ids as int, text placeholders as str)."""

    route: Route
    params: dict[str, int | str]


class Router:
    """Finds the route for a method and path. Routes are bucketed by segment count to keep lookups short."""

    def __init__(self, routes: list[Route]) -> None:
        self._buckets: dict[int, list[tuple[Route, re.Pattern[str]]]] = {}
        for route in routes:
            self._buckets.setdefault(route.template.count("/"), []).append((route, route.pattern))

    def match(self, method: str, path: str) -> tuple[Match | None, bool]:
        """(the match or None, whether the path exists for some other method)."""
        path = path.rstrip("/") or "/"
        path_known = False
        for route, pattern in self._buckets.get(path.count("/"), ()):
            found = pattern.match(path)
            if found is None:
                continue
            if route.method != method:
                path_known = True
                continue
            params = {name: value if name in TEXT_PLACEHOLDERS else int(value)
                      for name, value in found.groupdict().items()}
            return Match(route, params), True
        return None, path_known


def unrouted_operation(method: str, path: str) -> str:
    """Stats key for a path no route serves: numeric segments become `{id}` so keys stay few."""
    return f"{method} {_NUMERIC_SEGMENT.sub('/{id}', path.rstrip('/'))}"
