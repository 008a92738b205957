"""`tap-harvest-launcher`: run singer-io's tap-harvest as published, against other Harvest hosts when asked."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: Replaces `tap_harvest.client.REFRESH_URL` (https://id.getharvest.com/api/v2): the token and accounts calls.
ID_URL_ENV = "TAP_HARVEST_ID_URL"
#: Replaces the `base_url` every `tap_harvest.client.Client` sets (https://api.harvestapp.com/v2).
API_URL_ENV = "TAP_HARVEST_API_URL"


def point_at(client_module: Any, id_url: str | None, api_url: str | None) -> None:
    """Swap the two Harvest URLs of `tap_harvest.client` for the given ones; None leaves a URL as published."""
    if id_url:
        # Read as a module global on every token and accounts call, so replacing the global suffices.
        client_module.REFRESH_URL = id_url.rstrip("/")
    if api_url:
        base_url = api_url.rstrip("/")
        published_init: Callable[..., None] = client_module.Client.__init__

        # `base_url` is an instance attribute set in Client.__init__; every stream builds its URLs from it.
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - it replaces __init__
            published_init(self, *args, **kwargs)
            self.base_url = base_url

        client_module.Client.__init__ = __init__


def main() -> None:
    """`tap-harvest`, exactly, after `point_at` with $TAP_HARVEST_ID_URL and $TAP_HARVEST_API_URL (if set)."""
    import tap_harvest
    import tap_harvest.client

    point_at(tap_harvest.client, os.environ.get(ID_URL_ENV), os.environ.get(API_URL_ENV))
    tap_harvest.main()
