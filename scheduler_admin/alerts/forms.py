"""The channel form. Its secret field is write-only: never rendered back, and left
empty on edit to keep the stored secret."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from scheduler_admin.alerts import secrets
from scheduler_admin.models.alerts import (
    AlertChannel,
    ChannelKind,
    IncidentKind,
    ScheduleAlertRule,
)


class AlertChannelForm(forms.ModelForm):
    recipients_text = forms.CharField(
        label="Recipients",
        required=False,
        help_text="Email channels: addresses separated by commas.",
    )
    secret_url = forms.CharField(
        label="URL",
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Slack incoming-webhook URL, webhook URL, or Apprise URL (tgram://…, "
        "discord://…, ntfy://…, pagerduty://…). Stored encrypted and never shown again; "
        "leave empty to keep the current one.",
    )
    kinds = forms.MultipleChoiceField(
        choices=IncidentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=IncidentKind.values,
        label="Alert on",
    )
    rotate_signing_key = forms.BooleanField(
        required=False, label="Make a new signing key (webhooks; shown once)"
    )

    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "enabled", "kinds", "remind_every_h"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True  # a channel's kind decides its secrets
            self.fields["recipients_text"].initial = ", ".join(self.instance.recipients)
        self.new_signing_key = ""

    def clean_recipients_text(self) -> list[str]:
        addresses = [a.strip() for a in self.cleaned_data["recipients_text"].split(",")]
        addresses = [a for a in addresses if a]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address!r} is not an email address.") from None
        return addresses

    def clean(self) -> dict:
        data = super().clean()
        kind, url = data.get("kind"), data.get("secret_url", "").strip()
        if kind == ChannelKind.EMAIL:
            if not data.get("recipients_text"):
                self.add_error("recipients_text", "Give at least one address.")
            return data
        if not url and not self.instance.secret_encrypted:
            self.add_error("secret_url", "This channel needs its URL.")
        elif url and kind in (ChannelKind.SLACK, ChannelKind.WEBHOOK):
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                self.add_error("secret_url", "Use an http:// or https:// URL.")
        elif url and kind == ChannelKind.APPRISE and not _apprise_understands(url):
            self.add_error(
                "secret_url",
                "Apprise does not recognise this URL; see its list of services "
                "(https://github.com/caronc/apprise/wiki).",
            )
        return data

    def save(self, commit: bool = True) -> AlertChannel:
        channel = super().save(commit=False)
        channel.recipients = self.cleaned_data.get("recipients_text", [])
        url = self.cleaned_data.get("secret_url", "").strip()
        if url or self.cleaned_data.get("rotate_signing_key") or not channel.pk:
            try:
                values = channel.secrets() if channel.secret_encrypted else {}
            except secrets.SecretUnreadable:
                values = {}  # SECRET_KEY changed: what is entered now replaces it
            if url:
                values["url"] = url
            if channel.kind == ChannelKind.WEBHOOK and (
                not values.get("signing_key") or self.cleaned_data.get("rotate_signing_key")
            ):
                values["signing_key"] = self.new_signing_key = secrets.new_signing_key()
            channel.set_secrets(values)
        if commit:
            channel.save()
        return channel


def _apprise_understands(url: str) -> bool:
    import apprise

    return bool(apprise.Apprise().add(url))


class ScheduleAlertRuleForm(forms.ModelForm):
    class Meta:
        model = ScheduleAlertRule
        fields = ["failure_threshold", "muted", "channels"]
        widgets = {"channels": forms.CheckboxSelectMultiple}
        help_texts = {
            "channels": "Only these hear about this schedule; none ticked: every channel.",
        }

    def clean_failure_threshold(self) -> int:
        value = self.cleaned_data["failure_threshold"]
        if not 1 <= value <= 1000:
            raise ValidationError("Use a whole number from 1 to 1000.")
        return value
