"""``http.*`` actions with httpx: health endpoints checked in parallel, a service's version."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cockpit.actions.executor import ActionResult
from cockpit.actions.types import ResolvedAction
from cockpit.connectors.actions.base import Call, Fail, LazyClient


class HttpActions(LazyClient):
    """The ``http.*`` handlers; the httpx client (read-only transport when read-only) is
    built on first use."""

    def _connect(self) -> Any:
        from cockpit.connectors.http import make_http_client

        return make_http_client(self._timeout(), self.read_only)

    def _timeout(self) -> float:
        return self.config.http.timeout_s if self.config.http else 5.0

    def health(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``http.health``: every endpoint checked in parallel; fails naming the failing ones."""
        from cockpit.connectors.http import check_endpoint

        names = list(action.params["endpoints"])
        urls = list(action.health_urls())
        client = self.client()
        timeout = call.timeout(self._timeout())
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(urls))),
                                thread_name_prefix="cockpit-health") as pool:
            results = list(pool.map(lambda nu: check_endpoint(client, nu[0], nu[1], timeout),
                                    zip(names, urls, strict=True)))
        failing = []
        for health in results:
            if health.ok:
                call.say(f"{health.status_code} {health.url} {health.latency_ms or 0:.0f}ms")
            else:
                code = health.status_code if health.status_code is not None else "---"
                call.say(f"FAIL {code} {health.url}: {health.detail}")
                failing.append(health.name)
        if failing:
            return ActionResult(False, call.output(), (), f"failing: {', '.join(failing)}")
        return call.ok()

    def version(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``http.version``: the version a service reports at its URL."""
        from cockpit.connectors.http import read_version

        url = action.params["url"]
        ok, value, body = read_version(self.client(), url,
                                       call.timeout(self._timeout()))
        name = next((n for n, u in (self.config.http.version_urls.items()
                                    if self.config.http else ()) if u == url), "")
        if body:
            call.say(body)
        if not ok:
            raise Fail(f"{url}: {value}")
        call.say(f"{name + ': ' if name else ''}version {value}")
        return call.ok(detail=f"version {value}")

