"""The audit log: every change people and the engine made, newest first."""

from django.shortcuts import render

from scheduler_admin.views import queries
from scheduler_admin.views.paging import keyset_page


def audit_list(request):
    page = keyset_page(queries.audit_rows(), request.GET, 50)
    return render(request, "audit/list.html", {"page": page})
