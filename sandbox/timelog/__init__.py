"""The TimeLog simulator: Transactional SOAP services, the Reporting API, demo data and the control API."""
