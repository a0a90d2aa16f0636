"""Real connectors: the live estate behind the same interface as the simulator.

Each connector module imports its client library at its top, so this package
imports a module only when its section is configured: the simulated war room
never loads datadog-api-client, kubernetes, psycopg, redis or httpx.
"""

from __future__ import annotations

from cockpit.config import Config
from cockpit.sources.base import Source


def build_sources(config: Config, read_only: bool | None = None) -> list[Source]:
    """One real source per configured section, in panel order (metrics, health, cluster, ...).

    ``read_only`` (default: ``[cockpit].read_only``) builds every client with its
    read-only guard (see :mod:`cockpit.connectors.readonly`). Sources only read
    anyway; the guard makes a bug that would write fail loudly instead.
    """
    ro = config.cockpit.read_only if read_only is None else read_only
    sources: list[Source] = []
    if config.datadog is not None:
        from cockpit.connectors.datadog import DatadogSource

        sources.append(DatadogSource(config.datadog, read_only=ro))
    if config.http is not None:
        from cockpit.connectors.http import HttpHealthSource

        sources.append(HttpHealthSource(config.http, read_only=ro))
    if config.kubernetes is not None:
        from cockpit.connectors.kubernetes import KubernetesSource

        sources.append(KubernetesSource(config.kubernetes, config.cockpit.namespace,
                                        read_only=ro))
    if config.postgres is not None:
        from cockpit.connectors.postgres import PostgresSource

        sources.append(PostgresSource(config.postgres))
    if config.redis is not None:
        from cockpit.connectors.redis import RedisSource

        sources.append(RedisSource(config.redis, read_only=ro))
    return sources
