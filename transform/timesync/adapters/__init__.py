"""Per-tool adapters: native tap records to the canonical model, canonical changes to target payloads."""

from timesync.adapters.base import Adapter, CanonicalRecord
from timesync.adapters.forecast import ForecastAdapter
from timesync.adapters.harvest import HarvestAdapter
from timesync.adapters.timelog import TimeLogAdapter
from timesync.model import Side

#: The adapter of each side of job `sync`.
ADAPTERS: dict[Side, Adapter] = {Side.FORECAST: ForecastAdapter(), Side.TIMELOG: TimeLogAdapter()}
#: Every tool's adapter class, by the name the reconcile mapper's `source_adapter` setting gives.
ADAPTER_TYPES: dict[str, type[ForecastAdapter | TimeLogAdapter | HarvestAdapter]] = {
    "forecast": ForecastAdapter, "timelog": TimeLogAdapter, "harvest": HarvestAdapter}


def source_adapter(tool: str) -> Adapter:
    """A fresh adapter for one run of the tap of ``tool`` (an adapter may join records within a run)."""
    try:
        return ADAPTER_TYPES[tool]()
    except KeyError:
        raise ValueError(f"unknown source_adapter {tool!r}; one of {sorted(ADAPTER_TYPES)}") from None


__all__ = ["ADAPTERS", "ADAPTER_TYPES", "Adapter", "CanonicalRecord", "ForecastAdapter", "HarvestAdapter",
           "TimeLogAdapter", "source_adapter"]
