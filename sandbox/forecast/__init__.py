"""A local simulator of Forecast's REST API (api.forecast.it): `app.ForecastApp`, demo data in `demo`."""
