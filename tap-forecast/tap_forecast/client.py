"""REST client handling: the ForecastStream base classes that every stream builds on."""

from __future__ import annotations

import functools
import logging
import sys
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import fastjsonschema
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError

from forecast_api.auth import ApiKeyAuth
from forecast_api.pagination import page_params
from forecast_api.retry import RetryPolicy
from forecast_api.settings import TIMEOUT_SECONDS, api_root
from http_clock import clock_offset, server_lag
from tap_forecast import timestamps
from tap_forecast.errors import ONE_LINE_ERRORS, endpoint_of, error_for, malformed, unreachable
from tap_forecast.pagination import ForecastPaginator, decode_json, decode_page

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from backoff.types import Details
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator

#: Forecast's retry policy (attempts, waits, Retry-After, jitter), the same for every Forecast caller.
RETRY = RetryPolicy()
#: `updated_after` is strictly after (the docs do not say; we assume the worst), and has second precision.
#: Stepping back one second re-reads the bookmark's own second, so an edit made later in that second is seen.
BOUNDARY_STEP = timedelta(seconds=1)
#: The SDK's own line for a stream that failed; for the tap's one-line errors it only repeats them.
SDK_STREAM_FAILED = "An unhandled error occurred while syncing"
#: State key kept next to the SDK's bookmark: where the stream's last complete read began (UTC).
READ_STARTED_AT = "read_started_at"


class ForecastStream(RESTStream[int]):
    """A Forecast list endpoint that returns a bare JSON array (every non-v4 list endpoint)."""

    #: The field that holds the record's Forecast project id; the `project_ids` setting filters on it.
    project_field: ClassVar[str | None] = None
    #: The field that holds the record's Forecast person id; the `person_ids` setting filters on it (only
    #: time registrations set it: person_ids limits no other stream).
    person_field: ClassVar[str | None] = None

    @override
    @property
    def url_base(self) -> str:
        """`https://api.forecast.it/api`; stream paths start with the version (`/v1/projects`)."""
        return api_root(self.config["base_url"])

    @override
    @cached_property
    def authenticator(self) -> ApiKeyAuth:
        """The API key in the `X-FORECAST-API-KEY` header."""
        return ApiKeyAuth(self.config["api_key"])

    @override
    @property
    def timeout(self) -> tuple[int, int]:  # type: ignore[override]  # requests takes (connect, read)
        """Connect and read timeouts, in seconds."""
        return TIMEOUT_SECONDS

    @override
    @cached_property
    def user_agent(self) -> str:
        """`tap-forecast/<version>`, so Forecast can tell our traffic apart."""
        return f"{self._tap.name}/{self._tap.plugin_version}"

    # -- errors and retries -------------------------------------------------------------------------

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """Log a message; the SDK's generic "stream failed" line is left out when the tap reports the error
        itself, so a failure shows as one clear line."""
        if message.startswith(SDK_STREAM_FAILED) and isinstance(sys.exc_info()[1], ONE_LINE_ERRORS):
            return
        super().log(message, *args, level=level, **kwargs)

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Raise the error `errors.error_for` assigns to a non-2xx response; note the server's clock."""
        self._server_lag = max(self._server_lag, server_lag(clock_offset(response.headers)))
        if (error := error_for(response)) is not None:
            raise error

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The SDK's retries; a connection that still fails names Forecast and `base_url`, not just a socket."""
        with_retries = super().request_decorator(func)

        @functools.wraps(func)
        def request(*args: Any, **kwargs: Any) -> Any:
            try:
                return with_retries(*args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise unreachable(self.config["base_url"], exc, RETRY.max_attempts) from None

        return request

    @override
    def backoff_max_tries(self) -> int:
        """Attempts per request, the first included."""
        return RETRY.max_attempts

    @override
    def backoff_wait_generator(self) -> Generator[float, BaseException | None, None]:
        """Wait what a 429's `Retry-After` asks, else back off exponentially."""
        return RETRY.waits()

    @override
    def backoff_jitter(self, value: float) -> float:
        """Up to a second more on a backoff wait; a `Retry-After` is waited as asked."""
        return RETRY.jitter(value)

    @override
    def backoff_handler(self, details: Details) -> None:
        """One warning line per retry, naming the request and the reason (never headers or the key)."""
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        what = endpoint_of(response) if response is not None else f"{self.http_method} {self.path}"
        reason = str(exception) if isinstance(exception, RetriableAPIError) else type(exception).__name__
        self.logger.warning(
            "Retrying %s in %.1f s (attempt %d of %d): %s",
            what, details.get("wait", 0), details.get("tries", 0) + 1, RETRY.max_attempts, reason,
        )

    # -- parsing and checking records ---------------------------------------------------------------

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[int] | None:
        """Bare-array endpoints return everything at once."""
        return None

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The records of a bare-array body."""
        body = decode_json(response)
        if not isinstance(body, list):
            raise malformed(endpoint_of(response), f"expected a JSON array, got {type(body).__name__}")
        return body

    @override
    def post_process(self, record: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        """Shape the record, check it against the schema, then apply the `project_ids` filter.

        Optional fields may be missing (schemas.py says which are required); a record that lacks a required one,
        or has a wrong type, fails the run with one line naming the endpoint, the stream, the record and the field.
        """
        if not isinstance(record, dict):
            raise malformed(self.endpoint(context), f"stream {self.name}: expected a JSON object per record, "
                                                    f"got {type(record).__name__}")
        try:
            record = self.transform(record, context)
            for field in self.timestamp_fields:
                if record.get(field) is not None:
                    record[field] = timestamps.to_utc(record[field])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise malformed(self.endpoint(context), f"stream {self.name}, {self.record_label(record)}: unexpected "
                                                    f"record shape ({type(exc).__name__}: {exc})") from None
        try:
            self.validate(record)
        except fastjsonschema.JsonSchemaValueException as error:
            problems = self.field_problems(record) or [_readable(error)]
            raise malformed(self.endpoint(context),
                            f"stream {self.name}, {self.record_label(record)}: {', '.join(problems)}") from None
        return record if self.in_scope(record) else None

    def record_label(self, record: dict[str, Any]) -> str:
        """`record 5001`, or `record project_id=101 person_id=11` for a stream keyed on more than `id`."""
        if tuple(self.primary_keys or ()) == ("id",):
            return f"record {record.get('id', '?')}"
        return "record " + " ".join(f"{key}={record.get(key, '?')}" for key in self.primary_keys or ())

    def field_problems(self, record: dict[str, Any]) -> list[str]:
        """Every required field `record` lacks, e.g. `required field 'title' is missing`, and every field that
        breaks its schema, e.g. `time_registered must be integer` (the schema check stops at the first; a user
        fixing one field wants to hear of the others)."""
        problems = [f"required field {name!r} is missing" for name in self.schema.get("required", ())
                    if name not in record]
        for name, spec in self.schema["properties"].items():
            if name in record:
                try:
                    fastjsonschema.validate(spec, record[name])
                except fastjsonschema.JsonSchemaValueException as error:
                    problems.append(_readable(error, name))
        return problems

    def transform(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """Turn an API record into the stream's record. Streams with derived or renamed fields override this."""
        return record

    def in_scope(self, record: dict[str, Any]) -> bool:
        """Whether the `project_ids` and `person_ids` settings keep this record (a record must match both)."""
        for setting, field in (("project_ids", self.project_field), ("person_ids", self.person_field)):
            wanted = self.config.get(setting)
            if wanted and field is not None and record.get(field) not in wanted:
                return False
        return True

    def endpoint(self, context: Context | None) -> str:
        """`GET /api/v1/projects/101/phases`: the request that produced a record, for error messages."""
        return f"{self.http_method} {urlsplit(self.get_url(context)).path}"

    @cached_property
    def validate(self) -> Callable[[dict[str, Any]], object]:
        """This stream's schema compiled to a checker (fastjsonschema: ~20x faster than jsonschema per record)."""
        check: Callable[[dict[str, Any]], object] = fastjsonschema.compile(self.schema)
        return check

    @cached_property
    def timestamp_fields(self) -> tuple[str, ...]:
        """Top-level `date-time` fields, which the tap writes as UTC `Z` timestamps."""
        return tuple(
            name for name, spec in self.schema["properties"].items() if spec.get("format") == "date-time"
        )

    # -- incremental reads --------------------------------------------------------------------------
    #
    # The next read starts where the previous complete one began, minus `overlap_seconds`; not at the newest
    # change seen, so a burst of writes is read once, not again on every run until something newer changes.
    # The start is taken on the earlier of our clock and Forecast's (from its answers' `Date`), so a server
    # clock running behind ours loses nothing.

    #: How far Forecast's clock may be behind ours, at most, from this read's answers so far.
    _server_lag = timedelta(0)
    #: The earliest start of this run's reads of the stream (one per partition when it is read in partitions).
    _read_began: datetime | None = None

    def since(self, context: Context | None) -> datetime | None:
        """Where this run reads from, never before `start_date`; None on a first run without `start_date`.

        A state written before the tap kept the read's start falls back to the bookmark.
        """
        if not self.replication_key:
            return None
        started = self.get_context_state(context).get(READ_STARTED_AT)
        anchor = timestamps.parse(started) if started else self.get_starting_timestamp(context)
        if anchor is None:
            return None
        since = anchor - timedelta(seconds=self.config["overlap_seconds"])
        if start_date := self.config.get("start_date"):
            since = max(since, timestamps.parse(start_date))
        return since.astimezone(UTC)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The stream's records; an incremental stream then notes where this read began, for the next run."""
        if not self.replication_key:
            yield from super().get_records(context)
            return
        started, self._server_lag = datetime.now(UTC), timedelta(0)
        yield from super().get_records(context)
        # Saved only after the last record: a run that fails part-way leaves the next one where this one began.
        # A stream read in partitions (one per project) keeps the first one's start: a change to a project read
        # earlier, made while a later one was read, must still be after the saved start.
        began = started - self._server_lag
        self._read_began = began if self._read_began is None else min(self._read_began, began)
        self.get_context_state(context)[READ_STARTED_AT] = self._read_began.strftime(timestamps.RFC3339_UTC_FORMAT)

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str | None:
        """The run's start, the highest bookmark it may save, in the emitted format (whole seconds, `Z`).

        The SDK compares the signpost with bookmarks as text; its default (`…:26.846+00:00`) would sort
        before `…:26Z` and replace a correct bookmark.
        """
        signpost = super().get_replication_key_signpost(context)
        return signpost.strftime(timestamps.RFC3339_UTC_FORMAT) if isinstance(signpost, datetime) else signpost

    def is_before(self, record: dict[str, Any], since: datetime | None) -> bool:
        """Whether a client-side-filtered record is older than this run's window."""
        key = self.replication_key  # set wherever `since` is not None
        return since is not None and key is not None and timestamps.parse(record[key]) < since


class ForecastPagedStream(ForecastStream):
    """A paginated v4 endpoint: `?pageNumber=&pageSize=`, answered with the v4 page envelope."""

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[int] | None:
        """Page numbers from 1."""
        return ForecastPaginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        """The page to read, and `page_size` records per page."""
        return page_params(next_page_token, self.config["page_size"])

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The records of one page."""
        return decode_page(response).records


class IncrementalForecastStream(ForecastPagedStream):
    """A v4 feed read through `/updated_after/{YYYYMMDDTHHmmss}` from the bookmark minus the lookback."""

    replication_key = "updated_at"

    @override
    def get_url(self, context: Context | None) -> str:
        """The full feed on a first run; `…/updated_after/{ts}` once a bookmark or `start_date` exists."""
        url = super().get_url(context)
        since = self.since(context)
        return url if since is None else f"{url}/updated_after/{timestamps.to_compact(since - BOUNDARY_STEP)}"


class ClientFilteredForecastStream(ForecastPagedStream):
    """A v4 feed with no server-side filter: read it all, emit only records inside this run's window."""

    @override
    def post_process(self, record: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        """Drop records older than the bookmark minus the lookback."""
        processed = super().post_process(record, context)
        if processed is None or self.is_before(processed, self.since(context)):
            return None
        return processed


def _readable(error: fastjsonschema.JsonSchemaValueException, field: str | None = None) -> str:
    """`data.time_registered must be integer` -> `time_registered must be integer` (`data` is the field checked)."""
    message: str = error.message
    if field is not None:
        return message.replace("data", field, 1)
    return message.replace("data.", "", 1).replace("data ", "the record ", 1)
