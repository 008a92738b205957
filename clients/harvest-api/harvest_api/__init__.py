"""Read-only client for Harvest's API v2: OAuth2 refresh, the account, paged lists (no Singer, no sync)."""

from harvest_api.reader import DEFAULT_API_URL, DEFAULT_ID_URL, HarvestApiError, HarvestReader

__all__ = ["DEFAULT_API_URL", "DEFAULT_ID_URL", "HarvestApiError", "HarvestReader"]
