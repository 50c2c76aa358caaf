"""One agent session: its runs and traces."""

from django.shortcuts import render

from scheduler_admin.models import AgentSession, Trace
from scheduler_admin.views import queries

LIMIT = 200


def session_detail(request, session_id: str):
    session = AgentSession.objects.filter(session_id=session_id).first()
    runs = list(queries.run_rows().filter(session_id=session_id).order_by("-pk")[:LIMIT])
    traces = list(Trace.objects.filter(session_id=session_id).order_by("-pk")[:LIMIT])
    context = {"session_id": session_id, "session": session, "runs": runs, "traces": traces}
    status = 200 if (session or runs or traces) else 404
    return render(request, "sessions/detail.html", context, status=status)
