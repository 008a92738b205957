"""`timesync listen` (receive Forecast's webhooks, start a run after each burst) and `timesync webhooks
subscribe|list|remove` (the Forecast subscriptions that point at it)."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from timesync.cli.base import CLI_ENV_PREFIX, CliError, Output, Services, _table, cli
from timesync.listen import (
    MIN_TOKEN_LENGTH,
    WEBHOOK_PATH_PREFIX,
    DebounceWindow,
    SyncTrigger,
    check_token,
    command_runner,
    serve,
    webhook_app,
)

TOKEN_ENV = f"{CLI_ENV_PREFIX}WEBHOOK_TOKEN"
#: What the sync needs to hear about: tasks and time registrations, each created, updated and deleted.
SUBSCRIBED_TYPES = ("TASK", "TIME_REG")
SUBSCRIBED_EVENTS = ("CREATE", "UPDATE", "DELETE")
SUBSCRIPTION_NAME = "timesync {type} {event}"
#: Shown instead of the token wherever a URL is printed.
MASK = "***"
DEFAULT_COMMAND = "meltano run sync"

_TOKEN_OPTION = click.option(
    "--token", envvar=TOKEN_ENV, required=True,
    help=f"The secret in the webhook URL (env {TOKEN_ENV}), at least {MIN_TOKEN_LENGTH} characters, e.g. from "
         "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`. Forecast signs nothing, so this is "
         "what tells its calls from anyone else's.")


def _checked_token(token: str) -> str:
    try:
        return check_token(token)
    except ValueError as exc:
        raise CliError(f"{TOKEN_ENV}: {exc}") from None


# -- listen -------------------------------------------------------------------------------------------------------


@cli.command("listen")
@_TOKEN_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; put a TLS reverse proxy in front for Forecast to reach it.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port to listen on (0 picks a free one).")
@click.option("--quiet-seconds", type=float, default=5.0, show_default=True,
              help="Run once no webhook has come for this long ...")
@click.option("--max-wait-seconds", type=float, default=30.0, show_default=True,
              help="... or this long after the first webhook of a burst, whichever is sooner.")
@click.option("--command", "command", default=DEFAULT_COMMAND, show_default=True,
              help="The sync to run (split like a shell would, not run through one).")
@click.option("--poll-seconds", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Also run when no run has started for this long, at start too (60: the one-minute poll for "
                   "TimeLog's changes, which no webhook announces). 0: webhooks only, leave polling to a schedule.")
def listen(token: str, host: str, port: int, quiet_seconds: float, max_wait_seconds: float, command: str,
           poll_seconds: float) -> None:
    """Receive Forecast's webhooks on POST /webhooks/<token> and run the sync soon after each burst of them.

    One run at a time: webhooks during a run start one more run after it. Scheduled runs stay the source of
    truth, so a lost webhook only delays a change until the next of them. With --poll-seconds this process runs
    the schedule too, so a webhook run and a scheduled run never overlap.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        window = DebounceWindow(quiet_seconds, max_wait_seconds)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    argv = shlex.split(command)
    if not argv:
        raise CliError("--command is empty")
    trigger = SyncTrigger(command_runner(argv), window, poll_seconds=poll_seconds).start()
    app = webhook_app(_checked_token(token), trigger)

    def ready(base_url: str) -> None:
        click.echo(f"timesync listen: on {base_url} (POST {WEBHOOK_PATH_PREFIX}<token>, GET /healthz); "
                   f"runs `{command}`" + (f", and every {poll_seconds:g}s without webhooks" if poll_seconds else ""),
                   err=True)

    try:
        serve(app, host, port, ready)
    finally:
        trigger.stop()


# -- webhooks -----------------------------------------------------------------------------------------------------


@cli.group()
def webhooks() -> None:
    """Forecast webhook subscriptions that point at `timesync listen`."""


def _hook_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH_PREFIX + _checked_token(token)


def _ours(client: Any, url: str) -> list[dict[str, Any]]:
    return [s for s in client.subscriptions() if s.get("url") == url]


def _rows(subscriptions: list[dict[str, Any]], token: str) -> list[dict[str, Any]]:
    """The subscriptions as printed: the token masked."""
    return [{**s, "url": str(s.get("url", "")).replace(token, MASK)} for s in subscriptions]


def _emit(out: Output, title: str, rows: list[dict[str, Any]]) -> None:
    out.emit(rows, lambda: [_table(title, ["id", "type", "event", "active", "url"],
                                   [[r["id"], r["type"], r["event"], r["active"], r["url"]] for r in rows])])


@contextmanager
def _forecast(ctx: click.Context) -> Iterator[Any]:
    """The subscriptions client; Forecast's errors (each one line, no key in it) become CLI errors."""
    from forecast_api import ForecastError  # imported where used, like the other API clients (cli/base.py)

    services: Services = ctx.obj["services"]
    try:
        client = services.forecast_webhooks()
    except ForecastError as exc:
        raise CliError(str(exc)) from None
    try:
        yield client
    except ForecastError as exc:
        raise CliError(str(exc)) from None
    finally:
        client.close()


_PUBLIC_URL_OPTION = click.option(
    "--public-url", required=True, envvar=f"{CLI_ENV_PREFIX}WEBHOOK_PUBLIC_URL",
    help="Where Forecast reaches `timesync listen`, without the token: https://sync.example.com (env "
         f"{CLI_ENV_PREFIX}WEBHOOK_PUBLIC_URL). The subscriptions point at <public url>{WEBHOOK_PATH_PREFIX}<token>.")


@webhooks.command("subscribe")
@_PUBLIC_URL_OPTION
@_TOKEN_OPTION
@click.pass_context
def webhooks_subscribe(ctx: click.Context, public_url: str, token: str) -> None:
    """Subscribe to task and time-registration creates, updates and deletes (6); those that exist are kept."""
    url = _hook_url(public_url, token)
    with _forecast(ctx) as client:
        existing = {(s["type"], s["event"]) for s in _ours(client, url)}
        created = [client.create(name=SUBSCRIPTION_NAME.format(type=type_, event=event), type_=type_, event=event,
                                 url=url)
                   for type_ in SUBSCRIBED_TYPES for event in SUBSCRIBED_EVENTS if (type_, event) not in existing]
        ours = _ours(client, url)
    click.echo(f"created {len(created)}, {len(existing)} already there", err=True)
    _emit(ctx.obj["out"], "Forecast webhook subscriptions of timesync", _rows(ours, token))


@webhooks.command("list")
@_PUBLIC_URL_OPTION
@_TOKEN_OPTION
@click.pass_context
def webhooks_list(ctx: click.Context, public_url: str, token: str) -> None:
    """The subscriptions that point at this listener (the token masked)."""
    with _forecast(ctx) as client:
        ours = _ours(client, _hook_url(public_url, token))
    _emit(ctx.obj["out"], "Forecast webhook subscriptions of timesync", _rows(ours, token))


@webhooks.command("remove")
@_PUBLIC_URL_OPTION
@_TOKEN_OPTION
@click.pass_context
def webhooks_remove(ctx: click.Context, public_url: str, token: str) -> None:
    """Delete the subscriptions that point at this listener (others are left alone)."""
    with _forecast(ctx) as client:
        ours = _ours(client, _hook_url(public_url, token))
        for subscription in ours:
            client.delete(subscription["id"])
    click.echo(f"removed {len(ours)}", err=True)
    _emit(ctx.obj["out"], "Removed Forecast webhook subscriptions", _rows(ours, token))
