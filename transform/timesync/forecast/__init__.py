"""Forecast clients: the CLI's reader, the target's time-registration writes, and the targets' command sink."""
