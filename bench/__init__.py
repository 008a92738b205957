"""Benchmarks against the sandbox. They report figures and ratios against targets, never pass/fail."""
