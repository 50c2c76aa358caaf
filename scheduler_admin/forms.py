"""Forms of the console. Validation is the model's (validators.py); forms only
parse text into values and show the messages next to the fields."""

import json

from django import forms
from django.core.exceptions import ValidationError

from scheduler_admin.engine import operations
from scheduler_admin.models import PauseTimeoutAction, Schedule, Target
from scheduler_admin.validators import canonical_timezone, parse_payload

NUMERIC_FIELDS = ("timeout_s", "max_retries", "retry_delay_s", "retry_backoff")


class ScheduleForm(forms.ModelForm):
    payload = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        help_text='A JSON object, e.g. {"message": "Daily digest"}.',
    )

    class Meta:
        model = Schedule
        fields = operations.EDITABLE_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "cron_expr": forms.TextInput(attrs={"class": "mono", "autocomplete": "off"}),
            "timezone": forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
        }
        labels = {
            "pause_timeout_s": "Pause timeout (s)",
            "pause_timeout_action": "When a pause times out",
            "cron_expr": "Cron expression",
            "timeout_s": "Timeout (s)",
            "retry_delay_s": "Retry delay (s)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["payload"] = json.dumps(self.instance.payload or {}, indent=2)
        # The ranges and their messages are the model's (validators.InRange): drop the
        # form fields' own bounds so one rule speaks, in one voice.
        for name in (*NUMERIC_FIELDS, "pause_after_failures", "pause_timeout_s"):
            field = self.fields[name]
            field.validators = []
            field.min_value = field.max_value = None
            field.widget.attrs.pop("min", None)
            field.widget.attrs.pop("max", None)
        # Old clients (and tests) post forms without it: the model's default applies.
        self.fields["pause_timeout_action"].required = False
        # The built-in target is the default and always offered (recreated if deleted).
        local = Target.objects.local()
        self.fields["target"].queryset = Target.objects.order_by("name")
        self.fields["target"].empty_label = None
        if not self.is_bound and self.instance.target_id is None:
            self.initial["target"] = local.pk

    def clean_payload(self) -> dict:
        return parse_payload(self.cleaned_data.get("payload", ""))

    def clean_pause_timeout_action(self) -> str:
        return self.cleaned_data.get("pause_timeout_action") or PauseTimeoutAction.REJECT

    def clean_timezone(self) -> str:
        # People type "europe/berlin"; the zone database spells it Europe/Berlin.
        return canonical_timezone(self.cleaned_data.get("timezone", ""))

    def save_through_engine(self, *, user) -> Schedule | None:
        """Create or update via engine.operations; on a ValidationError, put its
        messages on the fields and return None (nothing is saved)."""
        data = {key: self.cleaned_data[key] for key in operations.EDITABLE_FIELDS}
        try:
            if self.instance.pk is None:
                return operations.create_schedule(data, user=user)
            # A fresh copy: the form has already set the new values on self.instance,
            # and update_schedule diffs against what it is given.
            schedule = Schedule.objects.get(pk=self.instance.pk)
            operations.update_schedule(schedule, data, user=user)
            return schedule
        except ValidationError as exc:
            self.add_error(None, exc)
            return None


class TargetForm(forms.ModelForm):
    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="Empty for the built-in in-process runtime.",
    )
    max_in_flight = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100000,
        label="Runs in flight at most",
        help_text="Runs sent to this server at once; more wait queued (default 32, a stock "
        "AgentOS's own limit).",
    )

    def clean_max_in_flight(self) -> int:
        value = self.cleaned_data.get("max_in_flight")
        return value if value is not None else 32

    class Meta:
        model = Target
        fields = (
            "name",
            "description",
            "base_url",
            "token_env",
            "connect_timeout_s",
            "max_in_flight",
        )
        labels = {
            "token_env": "Token environment variable",
            "connect_timeout_s": "Connect timeout (s)",
            "max_in_flight": "Runs in flight at most",
        }
        help_texts = {
            "token_env": "The NAME of an environment variable holding the bearer token "
            "(e.g. AGENTOS_TOKEN). The token itself is never stored or shown."
        }


class RetryPayloadForm(forms.Form):
    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        label="Payload for the new attempt",
    )

    def clean_payload(self) -> dict:
        return parse_payload(self.cleaned_data["payload"])
