"""Singer tap for TimeLog PSA."""
