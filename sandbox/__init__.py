"""Local simulators of the Forecast REST API and the TimeLog SOAP APIs.

Used by the demo, the tests and the benchmarks. See `python -m sandbox serve --help`.
"""
