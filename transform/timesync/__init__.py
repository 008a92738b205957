"""timesync: the reconcile step of the Forecast <-> TimeLog sync, and the code shared by its plugins."""
