"""The real channels: Slack incoming webhook, PagerDuty Events API v2, SMTP mail.

Every error is rebuilt from the status code or the exception type: httpx and
smtplib messages can contain the webhook URL, the routing key or the server's
reply, none of which belongs on screen or in the journal.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from cockpit.config import Config, EmailSettings, PagerDutySettings, SlackSettings
from cockpit.notify.message import Channel, DeliveryError, parse_retry_after, slack_escaped

_PERMANENT = {400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden",
              404: "404 Not Found", 410: "410 Gone"}


def _retry_after(response: httpx.Response) -> float | None:
    """The server's ``Retry-After`` in seconds (unclamped: the outbox bounds it)."""
    return parse_retry_after(response.headers.get("Retry-After"))


def _post_json(service: str, url: str, body: dict[str, Any], timeout_s: float,
               read_only: bool = False) -> httpx.Response:
    from cockpit.connectors.http import ReadOnlyTransport
    from cockpit.connectors.readonly import ReadOnlyError

    transport = ReadOnlyTransport() if read_only else None
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False,
                          transport=transport) as client:
            response = client.post(url, json=body)
    except ReadOnlyError:
        raise DeliveryError(f"read-only mode: nothing is sent to {service}",
                            retryable=False) from None
    except httpx.TimeoutException:
        raise DeliveryError(f"{service} did not answer within {timeout_s:g}s",
                            retryable=True) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot reach {service} ({type(exc).__name__})",
                            retryable=True) from None
    code = response.status_code
    if 200 <= code < 300:
        return response
    if code == 429:
        raise DeliveryError(f"{service} rate limited the request (429)", retryable=True,
                            retry_after_s=_retry_after(response))
    if code >= 500:
        raise DeliveryError(f"{service} error {code}", retryable=True,
                            retry_after_s=_retry_after(response))
    label = _PERMANENT.get(code, f"{code}")
    raise DeliveryError(f"{service} refused the message ({label})", retryable=False)


#: Slack message keys whose values are settings, not text a reader sees.
_SLACK_LITERAL_KEYS = frozenset({"mrkdwn", "unfurl_links", "unfurl_media", "link_names"})


class SlackChannel:
    """Posts to a Slack incoming webhook."""

    name = "slack"

    def __init__(self, settings: SlackSettings, read_only: bool = False) -> None:
        if settings.webhook_url is None:
            raise ValueError("[slack] webhook URL is not resolved")
        self._url = settings.webhook_url.reveal()
        self.timeout_s = settings.timeout_s
        self.read_only = read_only

    def send(self, payload: dict[str, Any]) -> str:
        """POST the message JSON, every text escaped for Slack (``<!channel>`` and
        ``<url|label>`` arrive inert); Slack answers ``200 ok``."""
        body = {key: value if key in _SLACK_LITERAL_KEYS else slack_escaped(value)
                for key, value in payload.items()}
        response = _post_json("Slack", self._url, body, self.timeout_s, self.read_only)
        return f"Slack accepted ({response.status_code})"


class PagerDutyChannel:
    """Sends events to the PagerDuty Events API v2 (``POST /v2/enqueue``)."""

    name = "pagerduty"

    def __init__(self, settings: PagerDutySettings, read_only: bool = False) -> None:
        if settings.routing_key is None:
            raise ValueError("[pagerduty] routing key is not resolved")
        self._key = settings.routing_key.reveal()
        self.url = settings.events_url
        self.timeout_s = settings.timeout_s
        self.read_only = read_only

    def send(self, payload: dict[str, Any]) -> str:
        """Add the routing key and POST; PagerDuty answers 202 with a dedup key."""
        body = {"routing_key": self._key, **payload}
        response = _post_json("PagerDuty", self.url, body, self.timeout_s, self.read_only)
        return f"PagerDuty accepted ({response.status_code})"


class EmailChannel:
    """Sends plain-text mail over SMTP, STARTTLS optional."""

    name = "email"

    def __init__(self, settings: EmailSettings, read_only: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only

    def recipients(self, payload: dict[str, Any]) -> list[str]:
        """The payload's ``to`` (a runbook step's recipients) or the configured ones."""
        return [str(a) for a in payload.get("to") or self.settings.to]

    def build(self, payload: dict[str, Any]) -> EmailMessage:
        """The mail as it will be sent."""
        msg = EmailMessage()
        msg["From"] = self.settings.from_addr
        msg["To"] = ", ".join(self.recipients(payload))
        msg["Subject"] = str(payload.get("subject", "Rollback Cockpit"))
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = make_msgid(domain="rollback-cockpit")
        if payload.get("urgent", False):
            msg["Priority"] = "Urgent"
            msg["X-Priority"] = "1"
        msg.set_content(str(payload.get("body", "")))
        return msg

    def send(self, payload: dict[str, Any]) -> str:
        """Connect, optionally STARTTLS and log in, send, quit."""
        s = self.settings
        if self.read_only:
            raise DeliveryError("read-only mode: no mail is sent", retryable=False)
        msg = self.build(payload)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password.reveal() if s.password else "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP server rejected the login ({exc.smtp_code})",
                                retryable=False) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("SMTP server refused every recipient", retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise DeliveryError(f"SMTP error {code}", retryable=400 <= code < 500) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError("SMTP server does not support STARTTLS/AUTH",
                                retryable=False) from None
        except TimeoutError:
            raise DeliveryError(f"SMTP server did not answer within {s.timeout_s:g}s",
                                retryable=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"cannot reach the SMTP server ({type(exc).__name__})",
                                retryable=True) from None
        if refused:
            return f"sent; {len(refused)} recipient(s) refused"
        return f"sent to {len(self.recipients(payload))} recipient(s)"


def build_channels(config: Config, read_only: bool = False) -> dict[str, Channel]:
    """A channel per configured notification section; read-only channels refuse to send
    (HTTP through the read-only transport, SMTP not even connected)."""
    channels: dict[str, Channel] = {}
    if config.slack is not None:
        channels["slack"] = SlackChannel(config.slack, read_only)
    if config.pagerduty is not None:
        channels["pagerduty"] = PagerDutyChannel(config.pagerduty, read_only)
    if config.email is not None:
        channels["email"] = EmailChannel(config.email, read_only)
    return channels
