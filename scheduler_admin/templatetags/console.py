"""Template helpers for the console: roles, status badges, JSON, server-rendered SVG."""

import html
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from scheduler_admin.engine.operations import retry_refusal as engine_retry_refusal
from scheduler_admin.roles import can as role_can

register = template.Library()

STATUS_COLOURS = {
    "success": "#1a7f37",
    "failed": "#c62828",
    "timeout": "#b35900",
    "running": "#0969da",
    "queued": "#6e7781",
    "paused": "#9a6700",
    "cancelled": "#57606a",
    "skipped": "#8c959f",
}


@register.filter
def can(user, action: str) -> bool:
    """``{% if user|can:"retry" %}``: show a control only to roles allowed to use it."""
    return role_can(user, action)


@register.filter
def status_badge(status: str):
    """A coloured badge that also says the status in words (never colour alone)."""
    return format_html('<span class="status status-{}">{}</span>', status, status)


@register.filter
def retry_refusal(run) -> str:
    """Why Retry would be refused for ``run`` ("" if it would work): rows from
    queries.run_rows() carry ``retried``; other runs ask the database."""
    retried = getattr(run, "retried", None)
    if retried is None:
        retried = run.retries.exists()
    return engine_retry_refusal(run, retried=retried) or ""


@register.filter
def firing_result(run) -> str:
    """The firing's story told by its latest attempt: "recovered on attempt 3",
    "failed after 4 attempts"; "" for a first attempt, whose badge says it all."""
    if run.attempt <= 1:
        return ""
    if run.status == "success":
        return f"recovered on attempt {run.attempt}"
    if run.status in ("failed", "timeout"):
        return f"{run.status} after {run.attempt} attempts"
    return f"attempt {run.attempt}"


def _span(seconds: float) -> str:
    """A length of time rounded for reading: "40 s", "12 min", "3 h 5 min", "2 d"."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} d"


@register.simple_tag
def when(moment: datetime | None, due: bool = False):
    """A <time>: relative words ("3 min ago", "in 40 s"), the exact UTC time on hover.

    ``due=True`` marks a time something should have happened by: once past, it reads
    "late by 2 min" in the late colour instead of "2 min ago".
    """
    if moment is None:
        return "—"
    delta = (moment - timezone.now()).total_seconds()
    if due and delta < -1:
        words, css = f"late by {_span(delta)}", "late"
    elif delta >= 0:
        words, css = (f"in {_span(delta)}" if delta >= 1 else "now"), ""
    else:
        words, css = f"{_span(delta)} ago", ""
    return format_html(
        '<time datetime="{}" title="{} UTC"{}>{}</time>',
        moment.isoformat(),
        moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        mark_safe(f' class="{css}"') if css else "",
        words,
    )


@register.filter
def in_zone(moment: datetime | None, zone: str) -> str:
    """``moment`` as wall time in the IANA zone ``zone``, the zone's abbreviation after."""
    if moment is None:
        return "—"
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or zone)


@register.filter
def duration(ms: int | None) -> str:
    """A duration for people: "—", "<1 ms", "850 ms", "2.35 s"."""
    if ms is None:
        return "—"
    if ms < 1:
        return "<1 ms"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


@register.filter
def pretty_json(value) -> str:
    """Indented JSON text; the template escapes it."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.simple_tag
def sparkline(runs, width: int = 120, height: int = 24):
    """Bars for the last runs, oldest left: height by duration, colour by status.

    Built with plain string formatting (escaping the one free-text value): a
    schedules page draws up to 1,000 bars and format_html per bar is the slow part.
    """
    runs = list(runs)
    if not runs:
        return mark_safe('<span class="muted">no runs</span>')
    longest = max((r.duration_ms or 0) for r in runs) or 1
    step = width / len(runs)
    bar_w = max(step - 1.5, 1)
    bars = []
    for i, run in enumerate(runs):
        ms = run.duration_ms or 0
        h = max(3.0, ms / longest * (height - 2))
        status = html.escape(str(run.status))
        bars.append(
            f'<rect x="{i * step + 0.5:.1f}" y="{height - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{STATUS_COLOURS.get(run.status, "#999")}">'
            f"<title>run {int(run.pk)}: {status}, {ms} ms</title></rect>"
        )
    failed = sum(r.status in ("failed", "timeout") for r in runs)
    label = f"Last {len(runs)} runs: {len(runs) - failed} ok or pending, {failed} failed"
    return mark_safe(
        f'<svg class="sparkline" role="img" aria-label="{label}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    )


@register.simple_tag
def timeline(runs, start: datetime, end: datetime, width: int = 1000, height: int = 60):
    """Recent runs on a time axis: one tick per run at its queued time, by status."""
    span_s = max((end - start).total_seconds(), 1)
    rows = {"success": 0, "failed": 1, "timeout": 1}
    ticks = []
    for run in runs:
        x = (run.queued_at - start).total_seconds() / span_s * (width - 4) + 2
        lane = rows.get(run.status, 2)
        ticks.append(
            (
                round(x, 1),
                6 + lane * 16,
                STATUS_COLOURS.get(run.status, "#999"),
                f"{run.schedule.name}: {run.status} at {run.queued_at:%H:%M:%S}",
            )
        )
    labels = [
        (round(i / 4 * (width - 60) + 2, 1), (start + (end - start) * i / 4).strftime("%H:%M"))
        for i in range(5)
    ]
    return format_html(
        '<svg class="timeline" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'preserveAspectRatio="none">'
        "{}{}</svg>",
        f"{len(ticks)} runs between {start:%Y-%m-%d %H:%M} and {end:%H:%M} UTC",
        width,
        height,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="3" height="12" fill="{}"><title>{}</title></rect>',
            ticks,
        ),
        format_html_join("", '<text x="{}" y="58" class="axis">{}</text>', labels),
    )
