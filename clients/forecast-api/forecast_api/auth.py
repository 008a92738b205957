"""Forecast's one way to authenticate: the API key in the `X-FORECAST-API-KEY` header."""

from __future__ import annotations

import requests

API_KEY_HEADER = "X-FORECAST-API-KEY"


class ApiKeyAuth(requests.auth.AuthBase):
    """Puts the API key on every request (a `requests` auth, so any session, the SDK's too, can use it)."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[API_KEY_HEADER] = self._api_key
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"
