"""`timesync report`: one self-contained HTML page (or JSON) of what the sync did and whether both sides agree.

Two layers, so the figures can be tested without a browser and dumped as JSON unchanged:

* data: ``model`` (the dataclasses), ``agreement`` (per project and week, pure), ``sources`` (the API reads),
  ``gather`` (the ledger reads, and the one entry point ``build_report``);
* rendering: ``charts`` (matplotlib SVG) and ``render`` (Jinja2, autoescaped).
"""
