"""The simulated Harvest account in memory: records by table, credentials, tokens and approved periods.

The state (`GET /_sandbox/state`, `POST /_sandbox/reset`, `demo.build_demo()`) is one JSON object:

* one list per table in `resources.TABLES`, records as stored (`resources.DEFAULTS` fills missing optional
  fields, so `{"id": 1, "user_id": 11, "project_id": 21, "task_id": 31, "spent_date": "2026-11-02"}` will do);
* `accounts`: what `GET /api/v2/accounts` lists (`{id, name, product}`); API calls need a `harvest` one;
* `oauth_clients` (`{client_id, client_secret}`), `refresh_tokens` (`{token, client_id, user_id}`),
  `access_tokens` (`{token, user_id, expires_at | null}`: personal access tokens never expire; the token
  endpoint adds expiring ones);
* `locked_periods`: `{user_id | null, from, to}`, approved periods that refuse new entries;
* `next_ids`: the next id per table (optional: one past the largest), so a deleted record's id never returns.

Callers hold `HarvestApp.lock`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from sandbox import credentials
from sandbox.harvest.errors import not_found
from sandbox.harvest.resources import REFERENCES, TABLES, with_defaults

CREDENTIAL_KEYS = ("accounts", "oauth_clients", "refresh_tokens", "access_tokens")


def default_credentials(admin_user_id: int | None) -> dict:
    """The sandbox's public credentials (sandbox/credentials.py), for `admin_user_id`."""
    return {
        "accounts": [{"id": credentials.HARVEST_ACCOUNT_ID, "name": credentials.HARVEST_ACCOUNT_NAME,
                      "product": "harvest"}],
        "oauth_clients": [{"client_id": credentials.HARVEST_CLIENT_ID,
                           "client_secret": credentials.HARVEST_CLIENT_SECRET}],
        "refresh_tokens": [{"token": credentials.HARVEST_REFRESH_TOKEN, "client_id": credentials.HARVEST_CLIENT_ID,
                            "user_id": admin_user_id}],
        "access_tokens": [{"token": credentials.HARVEST_PERSONAL_ACCESS_TOKEN, "user_id": admin_user_id,
                           "expires_at": None}],
    }


@dataclass
class Token:
    """An access token: whose it is and when it expires (a POSIX time; None never)."""

    user_id: int | None
    expires_at: float | None


class HarvestStore:
    """One Harvest account."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in TABLES}
        self.accounts: list[dict] = []
        self.oauth_clients: dict[str, str] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.access_tokens: dict[str, Token] = {}
        self.locked_periods: list[dict] = []
        self.next_ids: dict[str, int] = {}

    # -- state ---------------------------------------------------------------------------------------

    def load(self, data: dict, stamp: str) -> None:
        """Replace everything with `data` (the `snapshot` shape); records without stamps get `stamp`.

        Validates first, so a bad state leaves the old one in place; raises ValueError naming what is wrong.
        """
        if not isinstance(data, dict):
            raise ValueError("harvest state: expected a JSON object")
        unknown = sorted(set(data) - set(TABLES) - set(CREDENTIAL_KEYS) - {"locked_periods", "next_ids"})
        if unknown:
            raise ValueError(f"harvest state: unknown key(s) {unknown}")
        tables = {name: self._records(name, data.get(name, []), stamp) for name in TABLES}
        for table, references in REFERENCES.items():
            for record in tables[table].values():
                for field, target in references.items():
                    if record[field] not in tables[target]:
                        raise ValueError(f"{table} {record['id']}: {field} {record[field]} is not in {target}")
        users = sorted(tables["users"])
        given = {key: data[key] for key in CREDENTIAL_KEYS if key in data}
        defaults = default_credentials(users[0] if users else None)
        creds = {key: copy.deepcopy(given.get(key, defaults[key])) for key in CREDENTIAL_KEYS}
        self.tables = tables
        self.accounts = creds["accounts"]
        self.oauth_clients = {c["client_id"]: c["client_secret"] for c in creds["oauth_clients"]}
        self.refresh_tokens = {t["token"]: dict(t) for t in creds["refresh_tokens"]}
        self.access_tokens = {t["token"]: Token(t["user_id"], t.get("expires_at")) for t in creds["access_tokens"]}
        self.locked_periods = copy.deepcopy(data.get("locked_periods", []))
        given_ids = data.get("next_ids", {})
        self.next_ids = {name: max(int(given_ids.get(name, 0)), max(tables[name], default=0) + 1) for name in TABLES}

    @staticmethod
    def _records(table: str, records: object, stamp: str) -> dict[int, dict]:
        if not isinstance(records, list):
            raise ValueError(f"harvest state: {table} must be a list")
        loaded: dict[int, dict] = {}
        for position, record in enumerate(records):
            if not isinstance(record, dict) or not isinstance(record.get("id"), int) or isinstance(
                    record.get("id"), bool):
                raise ValueError(f"{table}[{position}]: expected an object with an integer 'id'")
            full = with_defaults(table, record)
            full["created_at"] = full["created_at"] or stamp
            full["updated_at"] = full["updated_at"] or full["created_at"]
            loaded[full["id"]] = full
        return loaded

    def snapshot(self) -> dict:
        """Every entity, ascending ids, in the shape `load` takes."""
        data: dict = {name: [copy.deepcopy(table[i]) for i in sorted(table)] for name, table in self.tables.items()}
        data["accounts"] = copy.deepcopy(self.accounts)
        data["oauth_clients"] = [{"client_id": k, "client_secret": v} for k, v in self.oauth_clients.items()]
        data["refresh_tokens"] = [dict(t) for t in self.refresh_tokens.values()]
        data["access_tokens"] = [{"token": k, "user_id": t.user_id, "expires_at": t.expires_at}
                                 for k, t in self.access_tokens.items()]
        data["locked_periods"] = copy.deepcopy(self.locked_periods)
        data["next_ids"] = dict(self.next_ids)
        return data

    # -- lookups -------------------------------------------------------------------------------------

    def require(self, table: str, record_id: int) -> dict:
        """The stored record, or a 404."""
        record = self.tables[table].get(record_id)
        if record is None:
            raise not_found()
        return record

    def next_id(self, table: str) -> int:
        """A fresh id, never one used before (ids grow with creation, as the docs' samples suggest)."""
        self.next_ids[table] = max(self.next_ids.get(table, 1), max(self.tables[table], default=0) + 1)
        self.next_ids[table] += 1
        return self.next_ids[table] - 1

    def harvest_account_ids(self) -> set[str]:
        """Account ids that API calls may name in Harvest-Account-Id (Forecast accounts are listed, not served)."""
        return {str(account["id"]) for account in self.accounts if account.get("product") == "harvest"}

    def assignment(self, table: str, project_id: int, other_field: str, other_id: int) -> dict | None:
        """The user or task assignment of `project_id` with `other_field == other_id`, or None."""
        return next((a for a in self.tables[table].values()
                     if a["project_id"] == project_id and a[other_field] == other_id), None)

    def in_locked_period(self, user_id: int, spent_date: str) -> bool:
        """Whether an approved period covers `spent_date` for this user (or for everyone)."""
        return any(p["user_id"] in (None, user_id) and p["from"] <= spent_date <= p["to"]
                   for p in self.locked_periods)
