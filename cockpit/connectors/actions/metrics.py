"""``metrics.*`` actions through the Datadog source: a query's summary, waiting for a
metric to stay below a threshold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cockpit.actions.executor import ActionResult
from cockpit.actions.model import format_duration
from cockpit.actions.types import ResolvedAction
from cockpit.connectors.actions.base import Call, Fail, LazyClient
from cockpit.sources.base import SourceError


class MetricActions(LazyClient):
    """The ``metrics.*`` handlers; the Datadog source is built on first use."""

    def _connect(self) -> Any:
        if self.config.datadog is None:
            raise Fail("metrics: Datadog is not configured ([datadog] in the config)")
        from cockpit.connectors.datadog import DatadogSource

        return DatadogSource(self.config.datadog, read_only=self.read_only, now=self.setup.now)

    def source(self) -> Any:
        """The Datadog source, built once."""
        return self.client()

    def query(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``metrics.query``: last, min, max and average of a query over the window."""
        p = action.params
        source = self.source()
        end = int(self.setup.now().timestamp())
        start = end - int(p["from"])
        series = source.query(p["query"], "query", start, end)
        values = [v for _, v in series.points]
        if not values:
            call.say(f"{p['query']} (-{format_duration(p['from'])}): no data")
            return ActionResult(False, call.output(), (), "no data points in the window")
        call.say(f"{p['query']} (-{format_duration(p['from'])}): last {values[-1]:g}, "
                 f"min {min(values):g}, max {max(values):g}, "
                 f"avg {sum(values) / len(values):.2f} ({len(values)} points)")
        return call.ok()

    def _metric_query_for(self, metric: str) -> str:
        assert self.config.datadog is not None
        d = self.config.datadog
        return {"error_rate_pct": d.error_rate_query, "latency_p95_ms": d.latency_query,
                "cpu_pct": d.cpu_query, "memory_pct": d.memory_query}[metric]

    @staticmethod
    def held_below(points: list[tuple[datetime, float]], threshold: float,
                   now: datetime) -> tuple[float | None, float | None]:
        """``(latest value, seconds it has stayed below threshold)`` from a series.

        The hold starts at the first point of the trailing run of points below
        the threshold and lasts until ``now``. No points: ``(None, None)``;
        latest at or above the threshold: ``(value, None)``.
        """
        if not points:
            return None, None
        latest = points[-1][1]
        if latest >= threshold:
            return latest, None
        since = points[-1][0]
        for at, value in reversed(points):
            if value >= threshold:
                break
            since = at
        return latest, max(0.0, (now - since).total_seconds())

    def wait_below(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``metrics.wait_below``: polls until the metric has stayed below the threshold."""
        p = action.params
        metric, threshold, need = p["metric"], float(p["threshold"]), float(p["minutes"]) * 60
        source = self.source()
        query = self._metric_query_for(metric)
        interval = max(self.setup.poll_s, min(60.0, self.config.datadog.interval_s)) \
            if self.config.datadog else self.setup.poll_s
        last = ""
        while True:
            now = self.setup.now()
            end = int(now.timestamp())
            window = int(need + 600)
            try:
                series = source.query(query, metric, end - window, end)
            except SourceError as exc:
                message = f"{metric}: {exc} (retrying)"
            else:
                value, held = self.held_below(list(series.points), threshold, now)
                stale = bool(series.points) and \
                    (now - series.points[-1][0]) > timedelta(minutes=5)
                if value is None or stale:
                    message = f"{metric}: no recent data"
                elif held is None:
                    message = f"{metric} {value:g} >= {threshold:g}: waiting"
                elif held >= need:
                    call.say(f"{metric} {value:g} < {threshold:g} for "
                             f"{format_duration(held)}: ok")
                    return call.ok()
                else:
                    message = (f"{metric} {value:g} < {threshold:g} (held "
                               f"{format_duration(held)} of {format_duration(need)})")
            if message != last:
                call.say(message)
                last = message
            stop = call.stop_reason()
            if stop:
                return ActionResult(False, call.output(), (), stop)
            call.pause(interval)

