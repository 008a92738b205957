"""Requests per second the Forecast sandbox serves on loopback, against the issue's target of 1,000 req/s.

The sandbox runs as its own process (`python -m sandbox serve`), so client and server do not share a GIL.
Clients are threads, each with one keep-alive connection (http.client, which costs the client far less CPU
than requests and so measures the server rather than the load generator).
"""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit

from sandbox.credentials import FORECAST_API_KEY
from sandbox.testing import SandboxProcess

TARGET_REQUESTS_PER_SECOND = 1_000
CLIENT_THREADS = 4
WARM_UP_SECONDS = 0.5
DURATION_SECONDS = 5.0
#: Small GETs of the kinds a sync makes: a page of registrations, a lookup by id, a reference list.
PATHS = (
    "/api/v4/time_registrations?pageSize=1",
    "/api/v3/time_registrations/100001",
    "/api/v1/roles",
)


def _client(host: str, port: int, stop: threading.Event, counts: list[int], errors: list[int], slot: int) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"X-FORECAST-API-KEY": FORECAST_API_KEY}
    sent = 0
    while not stop.is_set():
        connection.request("GET", PATHS[sent % len(PATHS)], headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            errors[slot] += 1
        counts[slot] += 1
        sent += 1
    connection.close()


def measure(forecast_url: str, threads: int = CLIENT_THREADS, seconds: float = DURATION_SECONDS) -> tuple[int, float]:
    """(requests completed, requests per second) over `seconds` after a short warm-up."""
    address = urlsplit(forecast_url)
    stop = threading.Event()
    counts, errors = [0] * threads, [0] * threads
    workers = [threading.Thread(target=_client, args=(address.hostname, address.port, stop, counts, errors, i))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(WARM_UP_SECONDS)
    before, started = sum(counts), time.perf_counter()
    time.sleep(seconds)
    done, elapsed = sum(counts) - before, time.perf_counter() - started
    stop.set()
    for worker in workers:
        worker.join()
    if any(errors):
        print(f"warning: {sum(errors)} non-200 responses")
    return done, done / elapsed


def main() -> None:
    """Start the demo sandbox, load it for a few seconds, print the figures."""
    with SandboxProcess(data="demo") as sandbox:
        done, rate = measure(sandbox.forecast_url)
        stats = sandbox.forecast.stats()
    print(f"Forecast sandbox: {done} small GETs in {DURATION_SECONDS:.0f} s from {CLIENT_THREADS} keep-alive "
          f"clients")
    print(f"  {rate:,.0f} requests/second; target {TARGET_REQUESTS_PER_SECOND:,} -> ratio "
          f"{rate / TARGET_REQUESTS_PER_SECOND:.2f}")
    print(f"  server counted {stats['total']:,} requests")


if __name__ == "__main__":
    main()
