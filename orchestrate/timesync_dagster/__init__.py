"""Dagster code location for many company pairs: one job, schedule and run slot per tenant of tenants.yml.

`definitions.build_definitions` turns a tenant registry into Dagster definitions; `location` is the module
workspace.yaml loads; `alerts` holds the hooks the failure sensor calls.
"""
