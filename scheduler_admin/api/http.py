"""The JSON edge of the API: errors, the endpoint wrapper, request bodies and paging.

Errors follow AgentOS (FastAPI): ``{"detail": "text"}`` for 401/403/404/409, and for
422 ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, one entry per problem.
"""

import json
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from scheduler_admin.api.auth import bearer_user
from scheduler_admin.roles import can
from scheduler_admin.validators import PAYLOAD_MAX_DEPTH

# Largest id a path may carry: bigger numbers cannot exist and would overflow the database.
MAX_ID = 2**63 - 1


class ApiError(Exception):
    """An answer other than success; ``detail`` is a string or a list of problems."""

    def __init__(self, status: int, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def problem(loc: list, msg: str, type_: str = "value_error") -> dict:
    return {"loc": loc, "msg": msg, "type": type_}


def unprocessable(problems: list[dict]) -> ApiError:
    return ApiError(422, problems)


def json_response(data, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False)


def endpoint(**handlers: tuple[Callable, str]) -> Callable:
    """One URL's view: ``endpoint(GET=(handler, "view"), POST=(handler, "create"))``.

    Checks the method, the bearer token (never the session: no CSRF risk) and the role
    of the action, then calls ``handler(request, user, **url_kwargs)``.
    """

    @csrf_exempt
    @login_not_required
    def view(request: HttpRequest, **kwargs) -> HttpResponse:
        if request.method not in handlers:
            response = json_response({"detail": "Method Not Allowed"}, status=405)
            response["Allow"] = ", ".join(handlers)
            return response
        handler, action = handlers[request.method]
        try:
            user = bearer_user(request)
            if user is None:
                raise ApiError(401, "Invalid or missing API token: send Authorization: Bearer …")
            if not can(user, action):
                raise ApiError(403, f"Your role may not {action} here.")
            from scheduler_admin.api.idempotency import answer_once

            return answer_once(request, user, lambda: handler(request, user, **kwargs))
        except ApiError as exc:
            response = json_response({"detail": exc.detail}, status=exc.status)
            if exc.status == 401:
                response["WWW-Authenticate"] = "Bearer"
            return response

    view.api_methods = tuple(handlers)  # read by the OpenAPI completeness test
    return view


def path_id(value: str, what: str) -> int:
    """A numeric id from the path; anything else is simply not found (AgentOS ids are
    opaque strings, so a malformed one is an unknown one)."""
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
        return int(value)
    raise ApiError(404, f"{what} not found")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _nul_field(data: dict) -> str | None:
    """The top-level field whose value (at any depth) holds a NUL, walked without
    recursion; PostgreSQL cannot store U+0000 in text or jsonb, so it is refused at
    the door, the same on every database."""
    for field, value in data.items():
        if "\x00" in field:
            return ""
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and "\x00" in item:
                return field
            if isinstance(item, dict):
                if any("\x00" in key for key in item):
                    return field
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return None


def body_bytes(request: HttpRequest) -> bytes:
    """The raw body; 413 when it is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."""
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise ApiError(413, f"The body is larger than the limit of {limit} bytes.") from None


def read_json_object(request: HttpRequest, *, allow_empty: bool = False) -> dict:
    """The request body as a JSON object, or a 422 that says what is wrong with it;
    413 when it is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."""
    raw = body_bytes(request)
    if allow_empty and not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        msg = "The body is not UTF-8 text."
        raise unprocessable([problem(["body"], msg, "json_invalid")]) from None
    except json.JSONDecodeError as exc:
        msg = f"JSON decode error: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        raise unprocessable([problem(["body", exc.pos], msg, "json_invalid")]) from None
    except RecursionError:
        msg = f"JSON decode error: nested deeper than {PAYLOAD_MAX_DEPTH} levels."
        raise unprocessable([problem(["body"], msg, "json_invalid")]) from None
    except ValueError as exc:
        msg = f"JSON decode error: {exc}."
        raise unprocessable([problem(["body"], msg, "json_invalid")]) from None
    if not isinstance(data, dict):
        raise unprocessable([problem(["body"], "The body must be a JSON object.", "dict_type")])
    field = _nul_field(data)
    if field is not None:
        loc = ["body", field] if field else ["body"]
        msg = "Text must not contain NUL (\\u0000) characters."
        raise unprocessable([problem(loc, msg, "null_characters_not_allowed")])
    return data


def validation_problems(exc: ValidationError, field_names: dict[str, str]) -> list[dict]:
    """Django's per-field errors as FastAPI-style problems, named with API field names."""
    if not hasattr(exc, "error_dict"):
        return [problem(["body"], m) for m in exc.messages]
    problems = []
    for field, errors in exc.error_dict.items():
        loc = ["body"] if field == "__all__" else ["body", field_names.get(field, field)]
        for error in errors:
            for message in error.messages:
                problems.append(problem(loc, message, error.code or "value_error"))
    return problems


def int_param(request: HttpRequest, name: str, default: int | None, low: int, high: int):
    """An integer query parameter within [low, high]; 422 otherwise."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise unprocessable(
            [problem(["query", name], "Input should be a valid integer.", "int_parsing")]
        ) from None
    if value < low:
        msg = f"Input should be greater than or equal to {low}."
        raise unprocessable([problem(["query", name], msg, "greater_than_equal")])
    if value > high:
        msg = f"Input should be less than or equal to {high}."
        raise unprocessable([problem(["query", name], msg, "less_than_equal")])
    return value


def text_param(request: HttpRequest, name: str, max_length: int = 200) -> str:
    """A free-text query parameter, stripped; NUL refused (PostgreSQL cannot compare it)."""
    value = request.GET.get(name, "").strip()
    if "\x00" in value:
        raise unprocessable([problem(["query", name], "Text must not contain NUL characters.")])
    return value[:max_length]


def choice_param(request: HttpRequest, name: str, choices) -> str | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        msg = f"Input should be one of: {', '.join(choices)}."
        raise unprocessable([problem(["query", name], msg, "enum")])
    return raw


def page_of(queryset, request: HttpRequest, serialize: Callable) -> JsonResponse:
    """AgentOS's paged list: ``page`` from 1, ``limit`` 1..1000 (default 100)."""
    page = int_param(request, "page", 1, 1, MAX_ID)
    limit = int_param(request, "limit", 100, 1, 1000)
    started = time.perf_counter()
    total = queryset.count()
    start = (page - 1) * limit
    items = list(queryset[start : start + limit]) if start < total else []
    search_time_ms = round((time.perf_counter() - started) * 1000, 2)
    return json_response(
        {
            "data": [serialize(item) for item in items],
            "meta": {
                "page": page,
                "limit": limit,
                "total_pages": (total + limit - 1) // limit,
                "total_count": total,
                "search_time_ms": search_time_ms,
            },
        }
    )
