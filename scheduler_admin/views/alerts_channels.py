"""Alert channels: the list for everyone; create, edit, delete and "Send test" for admins.

A webhook's signing key is shown once, in the answer to the POST that made it (never
cached); after that only a hint of each secret is ever rendered.
"""

import logging
import uuid

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from scheduler_admin.alerts import content, delivery
from scheduler_admin.alerts.forms import AlertChannelForm
from scheduler_admin.models import AlertChannel, Notification
from scheduler_admin.models.alerts import DeliveryStatus, NotificationEvent
from scheduler_admin.views.access import require

log = logging.getLogger(__name__)

LOG_ROWS = 50


def channel_list(request):
    channels = AlertChannel.objects.order_by("name")
    return render(request, "alerts/channel_list.html", {"channels": channels})


def channel_detail(request, pk: int):
    """A channel and its delivery log; the log refreshes itself while something is
    still being sent."""
    channel = get_object_or_404(AlertChannel, pk=pk)
    notifications = list(
        channel.notifications.select_related("incident")
        .prefetch_related("delivery_attempts")
        .order_by("-pk")[:LOG_ROWS]
    )
    busy = any(n.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING) for n in notifications)
    context = {"channel": channel, "notifications": notifications, "busy": busy}
    if request.htmx:
        return render(request, "alerts/channel_detail.html#log", context)
    return render(request, "alerts/channel_detail.html", context)


@never_cache  # the answer may hold a new signing key
@require("manage_alerts")
def channel_create(request):
    return _edit(request, AlertChannel())


@never_cache
@require("manage_alerts")
def channel_edit(request, pk: int):
    return _edit(request, get_object_or_404(AlertChannel, pk=pk))


def _edit(request, channel: AlertChannel):
    form = AlertChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        # Which fields changed, never their values: the URL and key are secrets.
        log.info(
            "alert channel %s saved by %s: %s",
            saved.pk,
            request.user.get_username(),
            ", ".join("secret replaced" if f == "secret_url" else f for f in form.changed_data),
        )
        if form.new_signing_key:
            context = {"channel": saved, "signing_key": form.new_signing_key}
            return render(request, "alerts/channel_secret.html", context)
        messages.success(request, f"Saved channel {saved.name}.")
        return redirect("channel_list")
    status = 400 if form.is_bound else 200
    context = {"form": form, "channel": channel}
    return render(request, "alerts/channel_form.html", context, status=status)


@require_POST
@require("manage_alerts")
def channel_test(request, pk: int):
    """Queue a test message through the same outbox as real alerts; the channel's page
    shows what the receiver answered."""
    channel = get_object_or_404(AlertChannel, pk=pk)
    with transaction.atomic():
        notification = Notification.objects.create(
            channel=channel,
            event=NotificationEvent.TEST,
            dedup_key=f"test:{channel.pk}:{uuid.uuid4().hex}",
            payload=content.test_payload(channel.name, timezone.now()),
        )
        transaction.on_commit(lambda: delivery.enqueue([notification.pk]), robust=True)
    messages.info(request, f"Test message queued for {channel.name}.")
    return redirect("channel_detail", pk=channel.pk)


@require_POST
@require("manage_alerts")
def channel_delete(request, pk: int):
    channel = get_object_or_404(AlertChannel, pk=pk)
    channel.delete()
    messages.success(request, f"Deleted channel {channel.name}.")
    return redirect("channel_list")
