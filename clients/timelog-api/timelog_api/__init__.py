"""A client for TimeLog's SOAP APIs (Transactional WCF services and the Reporting API), for any Python program.

It knows TimeLog, not its callers: no Singer, no database, no sync model. Import from the modules
(`timelog_api.client.TimeLogClient`, `timelog_api.errors`, ...): this package re-exports nothing, so its pure
modules (`convert`, `settings`, `guids`) load without zeep.
"""
