"""One sender per channel kind. Each returns a Result (never raises): what the receiver
answered, whether it worked, and whether trying again could help.

Every text kept from a receiver is redacted of the channel's secrets (a receiver may
echo its URL back) and capped before it is stored.
"""

import base64
import hashlib
import hmac
import json
import logging
import smtplib
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from scheduler_admin.alerts import content, secrets
from scheduler_admin.alerts.config import option
from scheduler_admin.models.alerts import ChannelKind, Notification

REPLY_MAX = 500
ERROR_MAX = 1000
USER_AGENT = "scheduler-admin-alerts/1"


@dataclass
class Result:
    ok: bool
    status_code: int | None = None
    reply: str = ""
    error: str = ""
    retryable: bool = True


def send(notification: Notification) -> Result:
    """Send ``notification`` through its channel."""
    channel = notification.channel
    try:
        values = channel.secrets()
    except secrets.SecretUnreadable as exc:
        return Result(False, error=str(exc), retryable=False)
    sender = _SENDERS[channel.kind]
    result = sender(notification, values)
    result.reply = secrets.redact(result.reply, values)[:REPLY_MAX]
    result.error = secrets.redact(result.error, values)[:ERROR_MAX]
    return result


def sign(signing_key: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64(HMAC-SHA256(key, "id.timestamp.body"));
    the key is the base64 after ``whsec_``."""
    key = base64.b64decode(signing_key.removeprefix(secrets.SIGNING_KEY_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _webhook(notification: Notification, values: dict) -> Result:
    body = json.dumps(notification.payload, separators=(",", ":")).encode()
    # The id stays the same on every retry, so a receiver can drop a duplicate.
    message_id = f"msg_{notification.pk}"
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(values["signing_key"], message_id, timestamp, body),
    }
    return _post(values["url"], body, headers)


def _slack(notification: Notification, values: dict) -> Result:
    body = json.dumps(content.slack(notification.payload)).encode()
    return _post(values["url"], body, {"Content-Type": "application/json"})


def _post(url: str, body: bytes, headers: dict) -> Result:
    timeout = option("HTTP_TIMEOUT_S")
    try:
        response = requests.post(
            url,
            data=body,
            headers={**headers, "User-Agent": USER_AGENT},
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
        )
    except requests.Timeout:
        return Result(False, error=f"No answer within {timeout:g} s")
    except requests.ConnectionError as exc:
        # The exception's text holds the URL (and its token): keep only its kind.
        return Result(False, error=f"Connection failed: {type(exc).__name__}")
    except requests.RequestException as exc:
        return Result(False, error=f"Request failed: {type(exc).__name__}", retryable=False)
    code = response.status_code
    reply = response.text[:REPLY_MAX]
    response.close()
    if 200 <= code < 300:
        return Result(True, status_code=code, reply=reply)
    return Result(
        False,
        status_code=code,
        reply=reply,
        error=f"HTTP {code}",
        retryable=code >= 500 or code in (408, 429),
    )


def _email(notification: Notification, values: dict) -> Result:
    recipients = notification.channel.recipients
    message = EmailMessage(
        subject=content.headline(notification.payload)[:200],
        body=content.text(notification.payload),
        from_email=option("EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"X-Alert-Id": f"msg_{notification.pk}"},
    )
    try:
        sent = get_connection().send_messages([message])  # EMAIL_TIMEOUT_S bounds it
    except smtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{k}: {v[0]} {_text(v[1])}" for k, v in exc.recipients.items())
        return Result(False, error=f"Recipients refused: {refused}", retryable=False)
    except smtplib.SMTPResponseException as exc:
        reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        # 4xx is "try again later"; 5xx is a permanent refusal.
        temporary = 400 <= exc.smtp_code < 500
        return Result(
            False,
            status_code=exc.smtp_code,
            reply=reply,
            error=f"SMTP {reply}",
            retryable=temporary,
        )
    except (smtplib.SMTPException, OSError) as exc:
        return Result(False, error=f"SMTP: {type(exc).__name__}: {exc}")
    if not sent:
        return Result(False, error="The email backend sent nothing")
    return Result(True, status_code=250, reply=f"250 accepted for {len(recipients)} recipient(s)")


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _apprise(notification: Notification, values: dict) -> Result:
    import apprise

    # secure_logging: Apprise masks the passwords and tokens of URLs it logs.
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(secure_logging=True))
    if not notifier.add(values["url"]):
        return Result(False, error="Apprise does not recognise this URL", retryable=False)
    with apprise.LogCapture(level=logging.WARNING) as log:
        ok = notifier.notify(
            title=content.headline(notification.payload),
            body=content.text(notification.payload),
            body_format=apprise.NotifyFormat.TEXT,
        )
        said = log.getvalue()
    # Apprise reports failures through its log, one line each: keep the messages.
    messages = " ".join(line.split(" - ", 2)[-1] for line in said.splitlines() if line.strip())
    if ok:
        return Result(True, reply="accepted by the service")
    return Result(False, error=messages or "Apprise could not deliver the notification")


_SENDERS = {
    ChannelKind.EMAIL: _email,
    ChannelKind.SLACK: _slack,
    ChannelKind.WEBHOOK: _webhook,
    ChannelKind.APPRISE: _apprise,
}
