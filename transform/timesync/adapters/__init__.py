"""Per-tool adapters: native tap records to the canonical model, canonical changes to target payloads."""

from timesync.adapters.base import Adapter, CanonicalRecord
from timesync.adapters.forecast import ForecastAdapter
from timesync.adapters.timelog import TimeLogAdapter
from timesync.model import Side

ADAPTERS: dict[Side, Adapter] = {Side.FORECAST: ForecastAdapter(), Side.TIMELOG: TimeLogAdapter()}

__all__ = ["ADAPTERS", "Adapter", "CanonicalRecord", "ForecastAdapter", "TimeLogAdapter"]
