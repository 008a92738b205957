"""The reconcile step: classify tap records against the ledger and emit target commands."""
