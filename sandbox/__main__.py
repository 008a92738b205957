"""`python -m sandbox serve`: run the Forecast, TimeLog and Harvest simulators on 127.0.0.1 until killed."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from sandbox.common.server import SimulatorServer, json_line
from sandbox.data import DataSpecError, load_data
from sandbox.forecast.app import ForecastApp
from sandbox.forecast.options import ForecastOptions
from sandbox.forecast.resources import FIELD_SETS, SAMPLES
from sandbox.harvest.app import HarvestApp
from sandbox.harvest.options import HarvestOptions
from sandbox.timelog.app import TimeLogApp
from sandbox.timelog.options import SiteOptions


def _serve(args: argparse.Namespace) -> int:
    try:
        data = load_data(args.data)
    except DataSpecError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    options, harvest_options, forecast_options = SiteOptions(), HarvestOptions(), ForecastOptions()
    try:
        options.update_from_pairs(args.timelog_option)
        harvest_options.update_from_pairs(args.harvest_option)
        forecast_options.update_from_pairs(args.forecast_option)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    servers = [
        SimulatorServer(ForecastApp(data.forecast, fields=args.forecast_fields, options=forecast_options),
                        args.forecast_port),
        SimulatorServer(TimeLogApp(data.timelog, token_ttl_seconds=args.token_ttl, options=options),
                        args.timelog_port),
        SimulatorServer(HarvestApp(data.harvest, options=harvest_options), args.harvest_port),
    ]
    for server in servers:
        server.start_in_thread()
    print(json_line(forecast_url=servers[0].url, timelog_url=servers[1].url, harvest_url=servers[2].url),
          flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulators on 127.0.0.1")
    serve.add_argument("--forecast-port", type=int, default=18001, help="0 picks a free port (default 18001)")
    serve.add_argument("--timelog-port", type=int, default=18002, help="0 picks a free port (default 18002)")
    serve.add_argument("--harvest-port", type=int, default=18003,
                       help="Harvest ID and API on one port; 0 picks a free port (default 18003)")
    serve.add_argument(
        "--data", default="demo",
        help="demo | empty | FILE.json ({\"forecast\", \"timelog\", \"harvest\"}: each the shape of its "
             "/_sandbox/state) | generate:registrations=N[,seed=S] (N registrations or entries on each side)",
    )
    serve.add_argument(
        "--forecast-fields", choices=FIELD_SETS, default=SAMPLES,
        help="which documented fields Forecast responses show: 'samples' (default, strict) leaves out what the "
             "docs' sample responses leave out, e.g. a task's estimate; 'tables' shows every field of the docs' "
             "response tables",
    )
    serve.add_argument("--forecast-option", action="append", default=[], metavar="KEY=VALUE",
                       help="a Forecast option (sandbox/forecast/options.py), repeatable, e.g. "
                            "webhook_minute_seconds=0.1 (the webhook retry schedule in tenths of a second)")
    serve.add_argument("--token-ttl", type=float, default=12 * 3600,
                       help="TimeLog token lifetime in seconds (default 12 hours)")
    serve.add_argument("--timelog-option", action="append", default=[], metavar="KEY=VALUE",
                       help="a TimeLog site option (sandbox/timelog/options.py), repeatable; VALUE is JSON when it "
                            "parses, else a string, e.g. guid_model=work_unit or single_wsdl=true")
    serve.add_argument("--harvest-option", action="append", default=[], metavar="KEY=VALUE",
                       help="a Harvest option (sandbox/harvest/options.py), repeatable, e.g. default_per_page=100 "
                            "or updated_since=inclusive")
    serve.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
