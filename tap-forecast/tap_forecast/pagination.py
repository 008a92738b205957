"""The v4 page envelope (decoded by `forecast_api.pagination`) and the SDK paginator over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from singer_sdk.pagination import PageNumberPaginator

from forecast_api import pagination
from forecast_api.pagination import FIRST_PAGE, Page
from tap_forecast.errors import translated

if TYPE_CHECKING:
    import requests


def decode_json(response: requests.Response) -> object:
    """The JSON body of `response` (decimals kept exact), or a `MalformedResponseError` naming the endpoint."""
    with translated():
        return pagination.decode_json(response)


def decode_page(response: requests.Response) -> Page:
    """The v4 envelope of `response`, checked field by field."""
    with translated():
        return pagination.decode_page(response)


class ForecastPaginator(PageNumberPaginator):
    """Page numbers from 1 until `pageNumber * pageSize` reaches `totalObjectCount` (no empty trailing call)."""

    def __init__(self) -> None:
        """Start at the first page."""
        super().__init__(FIRST_PAGE)

    def has_more(self, response: requests.Response) -> bool:
        """Whether another page holds records."""
        return not decode_page(response).is_last
