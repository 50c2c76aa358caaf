"""/api/schedules: AgentOS's schedule API over engine.operations."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse

from scheduler_admin.api.http import (
    ApiError,
    choice_param,
    json_response,
    page_of,
    path_id,
    read_json_object,
    unprocessable,
    validation_problems,
)
from scheduler_admin.api.serializers import (
    TO_API,
    runs_for_api,
    schedule_input,
    schedules_for_api,
    to_agentos_schedule,
    to_run,
)
from scheduler_admin.engine import operations
from scheduler_admin.models import Schedule, ScheduleRun


def _get_schedule(schedule_id: str) -> Schedule:
    schedule = (
        schedules_for_api(Schedule.objects).filter(pk=path_id(schedule_id, "Schedule")).first()
    )
    if schedule is None:
        raise ApiError(404, "Schedule not found")
    return schedule


def _is_duplicate_name(error: ValidationError) -> bool:
    return error.code == "unique" or any("already exists" in m for m in error.messages)


def _rejected(exc: ValidationError, name: str) -> ApiError:
    """409 when the only problem is a taken name (as AgentOS answers), else 422."""
    by_field = getattr(exc, "error_dict", {})
    errors = [(field, e) for field, items in by_field.items() for e in items]
    if errors and all(field == "name" and _is_duplicate_name(e) for field, e in errors):
        return ApiError(409, f"Schedule with name '{name}' already exists")
    return unprocessable(validation_problems(exc, TO_API))


def schedule_list(request: HttpRequest, user) -> JsonResponse:
    enabled = choice_param(request, "enabled", ("true", "false"))
    schedules = schedules_for_api(Schedule.objects).order_by("name")
    if enabled is not None:
        schedules = schedules.filter(enabled=enabled == "true")
    return page_of(schedules, request, to_agentos_schedule)


def schedule_create(request: HttpRequest, user) -> JsonResponse:
    data = schedule_input(read_json_object(request))
    try:
        schedule = operations.create_schedule(data, user=user)
    except ValidationError as exc:
        raise _rejected(exc, data.get("name", "")) from None
    return json_response(to_agentos_schedule(schedule), status=201)


def schedule_detail(request: HttpRequest, user, schedule_id: str) -> JsonResponse:
    return json_response(to_agentos_schedule(_get_schedule(schedule_id)))


def schedule_update(request: HttpRequest, user, schedule_id: str) -> JsonResponse:
    schedule = _get_schedule(schedule_id)
    data = schedule_input(read_json_object(request))
    try:
        operations.update_schedule(schedule, data, user=user)
    except ValidationError as exc:
        raise _rejected(exc, data.get("name", "")) from None
    return json_response(to_agentos_schedule(_get_schedule(schedule_id)))


def schedule_delete(request: HttpRequest, user, schedule_id: str) -> HttpResponse:
    operations.delete_schedule(_get_schedule(schedule_id), user=user)
    return HttpResponse(status=204)


def schedule_enable(request: HttpRequest, user, schedule_id: str) -> JsonResponse:
    schedule = _get_schedule(schedule_id)
    operations.set_enabled(schedule, True, user=user)
    return json_response(to_agentos_schedule(schedule))


def schedule_disable(request: HttpRequest, user, schedule_id: str) -> JsonResponse:
    schedule = _get_schedule(schedule_id)
    operations.set_enabled(schedule, False, user=user)
    return json_response(to_agentos_schedule(schedule))


def schedule_trigger(request: HttpRequest, user, schedule_id: str) -> JsonResponse:
    """Queue a run now. Unlike AgentOS, which runs it inside the request, the answer
    comes at once with the queued run; poll its run URL for the outcome."""
    try:
        run = operations.trigger_now(_get_schedule(schedule_id), user=user)
    except operations.ScheduleDisabled:
        raise ApiError(409, "Schedule is disabled") from None
    return json_response(to_run(run))


def schedule_runs(request: HttpRequest, user, schedule_id: str) -> JsonResponse:
    schedule = _get_schedule(schedule_id)
    # Served by run_schedule_idx (schedule, -id).
    runs = runs_for_api(ScheduleRun.objects.filter(schedule=schedule)).order_by("-pk")
    return page_of(runs, request, to_run)


def schedule_run_detail(request: HttpRequest, user, schedule_id: str, run_id: str) -> JsonResponse:
    run = runs_for_api(
        ScheduleRun.objects.filter(
            pk=path_id(run_id, "Schedule run"), schedule_id=path_id(schedule_id, "Schedule run")
        )
    ).first()
    if run is None:
        raise ApiError(404, "Schedule run not found")
    return json_response(to_run(run))
