"""Harvest API v2 simulator (help.getharvest.com/api-v2): OAuth2 refresh, accounts, time entries, assignments."""
