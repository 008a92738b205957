"""Singer target that applies reconcile commands to Forecast."""
