"""Template helpers for the console: roles, status badges, JSON, server-rendered SVG."""

import html
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from scheduler_admin.engine.operations import retry_refusal as engine_retry_refusal
from scheduler_admin.roles import can as role_can

register = template.Library()

STATUS_COLOURS = {
    "success": "#176f31",
    "failed": "#c62828",
    "timeout": "#9c4d00",
    "running": "#0860c9",
    "queued": "#6e7781",
    "paused": "#875a00",
    "cancelled": "#57606a",
    "skipped": "#8c959f",
}


@register.filter
def can(user, action: str) -> bool:
    """``{% if user|can:"retry" %}``: show a control only to roles allowed to use it."""
    return role_can(user, action)


@register.filter
def approval_questions(run) -> list[dict]:
    """What a paused run asks (engine.approvals.questions)."""
    from scheduler_admin.engine.approvals import questions

    return questions(run)


@register.filter
def answerable(run) -> bool:
    from scheduler_admin.engine.approvals import can_answer_here

    return run.status == "paused" and can_answer_here(run)


@register.simple_tag
def approvals_waiting() -> str:
    """The navigation's count of runs waiting for a person: one indexed query over the
    paused rows (run_paused_idx), capped so it stays cheap; "99+" beyond."""
    from scheduler_admin.models import ScheduleRun

    count = len(ScheduleRun.objects.awaiting_answer().values_list("pk", flat=True)[:100])
    return "99+" if count > 99 else str(count) if count else ""


@register.filter
def status_badge(status: str):
    """A coloured badge that also says the status in words (never colour alone)."""
    return format_html('<span class="status status-{}">{}</span>', status, status)


@register.filter
def get_item(mapping: dict, key):
    """``{{ labels|get_item:name }}``: a dict value by a variable key."""
    return mapping.get(key, "")


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


_FAILED = ("failed", "timeout")


@register.simple_tag
def history_strip(runs, slots: int = 50):
    """The last ``slots`` firings as equal cells, oldest left, newest right; empty
    cells on the left when a schedule has fewer. Colour by final status; a firing
    that needed retries has a dark notch on top. Fixed width, so strips line up.

    Built with plain string formatting (escaping the one free-text value): a
    schedules page draws 2,500 cells and format_html per cell is the slow part.
    """
    runs = list(runs)[-slots:]
    cell, gap, height = 5, 1, 18
    width = slots * (cell + gap)
    offset = slots - len(runs)
    cells = [
        f'<rect x="{i * (cell + gap)}" y="4" width="{cell}" height="{height - 4}" fill="#eef1f5"/>'
        for i in range(offset)
    ]
    for i, run in enumerate(runs, start=offset):
        x = i * (cell + gap)
        status = html.escape(str(run.status))
        retried = f", after {run.attempt} attempts" if run.attempt > 1 else ""
        when = run.queued_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        cells.append(
            f'<rect x="{x}" y="4" width="{cell}" height="{height - 4}" '
            f'fill="{STATUS_COLOURS.get(run.status, "#999")}">'
            f"<title>run {int(run.pk)}: {status}{retried}, {when}</title></rect>"
        )
        if run.attempt > 1:
            cells.append(f'<rect x="{x}" y="0" width="{cell}" height="3" fill="#1d2330"/>')
    failed = sum(r.status in _FAILED for r in runs)
    ok = sum(r.status == "success" for r in runs)
    label = (
        f"Last {len(runs)} firings, oldest first: {ok} succeeded, {failed} failed, "
        f"{len(runs) - ok - failed} other"
        if runs
        else "No firings yet"
    )
    return mark_safe(
        f'<svg class="strip" role="img" aria-label="{label}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">{"".join(cells)}</svg>'
    )


_DAY_KINDS = {"ok": STATUS_COLOURS["success"], "bad": STATUS_COLOURS["failed"], "other": "#6e7781"}


@register.simple_tag
def day_chart(rows: list[dict]):
    """Firings per hour as stacked bars: succeeded at the bottom, failed or timed out
    above, anything else on top; the newest hour on the right, a label every 3
    hours. ``rows`` is queries.firings_by_hour's list of {"hour", "ok", "bad",
    "other"}.
    """
    totals = {row["hour"].astimezone(UTC): row for row in rows}
    buckets = list(totals)
    hours = len(buckets)
    top = max((sum(t[kind] for kind in _DAY_KINDS) for t in totals.values()), default=0) or 1
    width, plot = 960, 110
    bar = width // max(hours, 1)
    parts = []
    for i, hour in enumerate(buckets):
        t, y = totals[hour], plot
        for kind, colour in _DAY_KINDS.items():
            if t[kind]:
                h = max(t[kind] / top * (plot - 12), 1)
                y -= h
                parts.append(
                    f'<rect x="{i * bar + 2}" y="{y:.1f}" width="{bar - 4}" height="{h:.1f}" '
                    f'fill="{colour}"/>'
                )
        title = (
            f"{hour:%H}:00 to {hour + timedelta(hours=1):%H}:00 UTC: {t['ok']} succeeded, "
            f"{t['bad']} failed, {t['other']} other"
        )
        parts.append(
            f'<rect x="{i * bar}" y="0" width="{bar}" height="{plot}" fill="transparent">'
            f"<title>{title}</title></rect>"
        )
        if i % 3 == (hours - 1) % 3:  # every 3 hours, the newest hour always
            parts.append(
                f'<text x="{i * bar + 2}" y="{plot + 14}" class="axis">{hour:%H}:00</text>'
            )
    total = {kind: sum(t[kind] for t in totals.values()) for kind in _DAY_KINDS}
    label = (
        f"Firings per hour, last {hours} hours (UTC): {total['ok']} succeeded, "
        f"{total['bad']} failed, {total['other']} other"
    )
    # Every value above is a number or a fixed word: nothing needs escaping.
    return mark_safe(
        f'<svg class="day-chart" role="img" aria-label="{label}" '
        f'viewBox="0 0 {width} {plot + 18}">'
        f'<line x1="0" y1="{plot}" x2="{width}" y2="{plot}" stroke="#c7ccd4"/>'
        f'<text x="{width - 2}" y="10" class="axis" text-anchor="end">max {top} per hour</text>'
        f"{''.join(parts)}</svg>"
    )
