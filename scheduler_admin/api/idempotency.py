"""Idempotency-Key on every API POST (beyond AgentOS): a client that lost the answer to
a create, trigger or retry sends the same request with the same key again and gets the
first answer back, marked ``Idempotent-Replayed: true``, instead of a second schedule
or run.

A key belongs to its user and is remembered for IDEMPOTENCY_TTL. Only successful
answers are kept: after a refusal (4xx) the client may fix the request and reuse the
key. The same key with a different request is refused (422); while the first request
is still being answered, a second one gets 409.
"""

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from scheduler_admin.api.http import ApiError, body_bytes, problem, unprocessable
from scheduler_admin.models import IdempotencyKey
from scheduler_admin.models.idempotency import IDEMPOTENCY_TTL

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _key(request: HttpRequest) -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not (0 < len(raw) <= MAX_KEY_LENGTH and all(" " <= char <= "~" for char in raw)):
        msg = f"Use 1 to {MAX_KEY_LENGTH} printable ASCII characters, such as a UUID."
        raise unprocessable([problem(["header", HEADER], msg, "string_pattern_mismatch")])
    return raw


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body_bytes(request)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _replay(record: IdempotencyKey, fingerprint: str) -> HttpResponse:
    if record.request_hash != fingerprint:
        msg = "This key was sent with a different request before; use a new key."
        raise unprocessable([problem(["header", HEADER], msg, "idempotency_key_reused")])
    if record.status_code is None:
        raise ApiError(409, "A request with this Idempotency-Key is still being answered.")
    response = HttpResponse(
        record.response_body, status=record.status_code, content_type="application/json"
    )
    response["Idempotent-Replayed"] = "true"
    return response


def answer_once(request: HttpRequest, user, answer: Callable[[], HttpResponse]) -> HttpResponse:
    """``answer()``, or for a POST with a known Idempotency-Key the stored answer."""
    if request.method != "POST":
        return answer()
    key = _key(request)
    if key is None:
        return answer()
    fingerprint = _fingerprint(request)
    # Forget this user's expired keys (served by the (user, key) index's user prefix).
    IdempotencyKey.objects.filter(
        user=user, created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    try:
        # The unique (user, key) row is claimed before the work: of two concurrent
        # requests with one key, exactly one does it.
        with transaction.atomic():
            record = IdempotencyKey.objects.create(user=user, key=key, request_hash=fingerprint)
    except IntegrityError:
        record = IdempotencyKey.objects.filter(user=user, key=key).first()
        if record is None:  # the first request was just refused and let go of the key
            raise ApiError(409, "A request with this Idempotency-Key was just answered.") from None
        return _replay(record, fingerprint)
    try:
        response = answer()
    except BaseException:
        record.delete()
        raise
    if 200 <= response.status_code < 300:
        record.status_code = response.status_code
        record.response_body = response.content.decode()
        record.save(update_fields=["status_code", "response_body"])
    else:
        record.delete()
    return response
