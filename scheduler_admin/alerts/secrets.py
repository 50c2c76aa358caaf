"""Channel secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from
SECRET_KEY.

Why not the name of an environment variable, as targets do: a webhook's signing key is
made here and shown once, and admins add Slack or Apprise URLs in the console, so the
secret has to live in the database. Encrypted, a database dump, a backup or the Django
admin shows only ciphertext; the console shows ``hint()``; nothing logs or audits the
plain text. Rotating SECRET_KEY: put the old key in SECRET_KEY_FALLBACKS, and secrets
stored under it still decrypt (re-save a channel to re-encrypt it under the new key).
"""

import base64
import hashlib
import json
import secrets as random_secrets
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

SIGNING_KEY_PREFIX = "whsec_"


class SecretUnreadable(Exception):
    """The stored secret does not decrypt with SECRET_KEY or its fallbacks."""


def _fernet_for(secret_key: str) -> Fernet:
    digest = hashlib.sha256(f"scheduler-admin.alert-channel-secret:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(k) for k in keys])


def encrypt(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def decrypt(token: str) -> dict[str, str]:
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretUnreadable(
            "The channel's secret does not decrypt: SECRET_KEY changed without the old one "
            "in SECRET_KEY_FALLBACKS. Edit the channel and enter its secret again."
        ) from None


def hint(url: str) -> str:
    """What may be shown of a URL: the scheme, and the host of an http(s) URL; never
    the path or query, where Slack, Discord and most services put the token. Apprise
    URLs (``tgram://TOKEN/CHAT``) keep tokens in the host too: only their scheme."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}/…"
    return f"{parts.scheme}://…" if parts.scheme else "(set)"


def new_signing_key() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SIGNING_KEY_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode()


def redact(text: str, values: dict[str, str]) -> str:
    """``text`` without any of the channel's secrets (a receiver may echo them back)."""
    for value in values.values():
        if value:
            text = text.replace(value, "[redacted]")
    return text
