"""Idempotency-Key records of the API: a POST retried with the same key after a lost
answer gets the first answer again instead of doing the work twice."""

from datetime import timedelta

from django.conf import settings
from django.db import models

# How long a key is remembered; a retry after a lost answer comes within minutes.
IDEMPOTENCY_TTL = timedelta(hours=24)


class IdempotencyKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    # method, path and body, hashed: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    # Null while the first request is still being answered.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "api_idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_uniq")
        ]

    def __str__(self) -> str:
        return self.key
