"""/healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus.

No login (they are called by machines) and nothing secret in them. /metrics answers
only the networks in METRICS_ALLOWED_NETWORKS or a request with METRICS_TOKEN.
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from scheduler_admin.ops import metrics
from scheduler_admin.ops.health import run_checks


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving; touches nothing else (no database)."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every readiness check, each with ok/detail/ms; 503 when any fails."""
    results = run_checks()
    ready = all(result.ok for result in results.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unready",
            "checks": {name: result.as_json() for name, result in results.items()},
        },
        status=200 if ready else 503,
    )


@login_not_required
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics.render(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def metrics_allowed(request: HttpRequest) -> bool:
    """From an allowed network (the TCP peer, never a forwarded header, which a client
    could forge), or with the bearer token."""
    token = settings.OPS["METRICS_TOKEN"]
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in allowed_networks())


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(cidr, strict=False)
        for cidr in settings.OPS["METRICS_ALLOWED_NETWORKS"]
    ]
