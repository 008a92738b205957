"""Singer tap for Forecast (Forecast A/S)."""
