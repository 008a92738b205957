"""The sandbox's public demo credentials. Documented in README.md and used by meltano.yml's `sandbox` env."""

FORECAST_API_KEY = "sandbox-forecast-api-key"

TIMELOG_ACCOUNT = "sandbox"
TIMELOG_USERNAME = "tl-sync"
TIMELOG_PASSWORD = "tl-sync-password"
TIMELOG_SITE_CODE = "SANDBOX-SITE-CODE"
TIMELOG_REPORTING_USERNAME = "reporting-api"
TIMELOG_REPORTING_PASSWORD = "reporting-api-password"

DEFAULT_FORECAST_PORT = 18001
DEFAULT_TIMELOG_PORT = 18002

# Harvest (sandbox/harvest): the OAuth2 application and refresh token tap-harvest uses, a personal access token
# for editors and tests, and the one Harvest account the token reaches.
HARVEST_CLIENT_ID = "sandbox-harvest-client-id"
HARVEST_CLIENT_SECRET = "sandbox-harvest-client-secret"
HARVEST_REFRESH_TOKEN = "sandbox-harvest-refresh-token"
HARVEST_PERSONAL_ACCESS_TOKEN = "sandbox-harvest-personal-access-token"
HARVEST_ACCOUNT_ID = 1234567
HARVEST_ACCOUNT_NAME = "Sandbox Agency"
HARVEST_USER_AGENT = "forecast-timelog-sync sandbox (sandbox@agency.example)"
DEFAULT_HARVEST_PORT = 18003


def timelog_settings(timelog_url: str) -> dict[str, str]:
    """The settings a TimeLog client (a tap, a target, a test) needs for the sandbox's TimeLog at `timelog_url`."""
    return {
        "domain": timelog_url,
        "account": TIMELOG_ACCOUNT,
        "username": TIMELOG_USERNAME,
        "password": TIMELOG_PASSWORD,
        "site_code": TIMELOG_SITE_CODE,
        "reporting_username": TIMELOG_REPORTING_USERNAME,
        "reporting_password": TIMELOG_REPORTING_PASSWORD,
    }
