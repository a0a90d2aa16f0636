"""Data sources: one interface per kind of data, real or simulated."""

from cockpit.sources.base import Source, SourceError, SourceStatus

__all__ = ["Source", "SourceError", "SourceStatus"]
