"""Plumbing shared by both simulators: the HTTP server, the control API, faults and stats."""
