"""Rollback Cockpit: a terminal war room for production deployment rollbacks."""

__version__ = "0.1.0"
