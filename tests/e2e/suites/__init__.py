"""Helpers of the seeded end-to-end suites (tests/e2e/test_suite_*.py): world, edits, invariant checks."""
