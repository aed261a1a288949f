from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import slug_re
from django.urls import reverse_lazy
from django.utils import timezone

from runbooks.models import Runbook, Service, Severity

from .models import (
    ActionStatus,
    CorrectiveAction,
    DrillOutcome,
    Incident,
    RunPurpose,
    Status,
    StepState,
    TimelineKind,
)
from .services import comparable

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Nothing this tool records happened before this; an earlier date is a typo in the year.
EARLIEST_DATE = dt.date(2000, 1, 1)
CLOCK_SKEW = dt.timedelta(minutes=5)


def _users() -> Any:
    return get_user_model().objects.filter(is_active=True).order_by("username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_username()


class IncidentForm(forms.ModelForm):
    commander = UserChoiceField(queryset=_users(), required=False, label="Incident commander")
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.all(), required=False, label="Affected services"
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "severity",
            "commander",
            "services",
            "detected_at",
            "acknowledged_at",
            "mitigated_at",
            "user_impact",
            "business_impact",
        ]
        widgets = {
            "detected_at": DATETIME_WIDGET,
            "acknowledged_at": DATETIME_WIDGET,
            "mitigated_at": DATETIME_WIDGET,
            "user_impact": forms.Textarea(attrs={"rows": 3}),
            "business_impact": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["commander"]).queryset = _users()
        for name in ("detected_at", "acknowledged_at", "mitigated_at"):
            cast(forms.DateTimeField, self.fields[name]).input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        if not self.instance.pk:
            self.fields["detected_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        detected = data.get("detected_at")
        now = timezone.now()
        if detected and detected > now + CLOCK_SKEW:
            self.add_error("detected_at", "An incident cannot be detected in the future.")
        elif detected and detected.date() < EARLIEST_DATE:
            self.add_error("detected_at", f"That is before {EARLIEST_DATE:%Y}; check the year.")
        for name in ("acknowledged_at", "mitigated_at"):
            value = data.get(name)
            if value and value > now + CLOCK_SKEW:
                self.add_error(name, "This is in the future.")
            elif value and detected and value < detected:
                self.add_error(name, "This is before the incident was detected.")
        return data


class IncidentEditForm(forms.ModelForm):
    """The free-form edit: no status and no timestamps, which change only through their actions.

    Every field also renders the value it showed (a hidden "initial-" input), and
    the form carries the row version it was drawn from, so a save applies only
    what this user changed and a stale form cannot undo someone else's change.
    """

    commander = UserChoiceField(queryset=_users(), required=False, label="Incident commander")
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.all(), required=False, label="Affected services"
    )
    # Missing means the form cannot prove what it saw: treated as stale (version 0).
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

    class Meta:
        model = Incident
        fields = ["title", "severity", "commander", "services", "user_impact", "business_impact"]
        widgets = {
            "user_impact": forms.Textarea(attrs={"rows": 3}),
            "business_impact": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["commander"]).queryset = _users()
        self.fields["row_version"].initial = self.instance.row_version
        for name in self.Meta.fields:
            self.fields[name].show_hidden_initial = True

    def seen(self) -> dict[str, Any]:
        """Per field, the value the form showed when it was drawn (from its hidden input)."""
        values: dict[str, Any] = {}
        for name in self.Meta.fields:
            field = self.fields[name]
            raw = field.hidden_widget().value_from_datadict(
                self.data, self.files, self.add_initial_prefix(self.add_prefix(name))
            )
            if raw is None:
                continue
            try:
                values[name] = field.clean(raw)
            except ValidationError:
                # A seen value that no longer validates (a deactivated commander): unknown.
                continue
        return values

    def changes(self) -> dict[str, Any]:
        """The fields this user changed, with their new values."""
        seen = self.seen()
        return {
            name: self.cleaned_data[name]
            for name in self.Meta.fields
            if name not in seen or comparable(self.cleaned_data[name]) != comparable(seen[name])
        }


class TimelineEntryForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(TimelineKind.NOTE, "Note"), (TimelineKind.COMMUNICATION, "Communication")],
        initial=TimelineKind.NOTE,
    )
    text = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="Entry")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class AttachRunbookForm(forms.Form):
    runbook = forms.CharField(max_length=200, label="Runbook", help_text="Its title or slug.")

    def clean_runbook(self) -> Runbook:
        wanted = self.cleaned_data["runbook"].strip()
        # A live runbook first: an archived one may share its title.
        runbook = (
            Runbook.objects.active().filter(slug=wanted).first()
            or Runbook.objects.active().filter(title__iexact=wanted).first()
            or Runbook.objects.filter(slug=wanted).first()
        )
        if runbook is None:
            raise ValidationError(f"There is no runbook called “{wanted}”.")
        if runbook.archived_at is not None:
            raise ValidationError(f"“{runbook.title}” is archived; an editor can restore it from its page first.")
        return runbook


class StepForm(forms.Form):
    # The step's key (its identity in the pinned revision), never its position.
    step = forms.CharField(max_length=40)
    state = forms.ChoiceField(choices=StepState.choices)
    note = forms.CharField(max_length=1000, required=False)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("state") == StepState.DEVIATED and not (data.get("note") or "").strip():
            self.add_error("note", "Say what was done differently.")
        return data


class RunStartForm(forms.Form):
    purpose = forms.ChoiceField(choices=RunPurpose.choices, initial=RunPurpose.MAINTENANCE)
    title = forms.CharField(max_length=200, required=False, label="What for (optional)")


class RunDrillForm(forms.Form):
    participants = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(choices=DrillOutcome.choices)
    findings = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), ("open", "Open"), *Status.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False, empty_label="Any service")
    since = forms.DateField(required=False, widget=DATE_WIDGET, label="Detected from")
    until = forms.DateField(required=False, widget=DATE_WIDGET, label="Detected until")

    def filter(self, incidents: Any) -> Any:
        if not self.is_valid():
            return incidents
        data = self.cleaned_data
        if data["status"] == "open":
            incidents = incidents.open()
        elif data["status"]:
            incidents = incidents.filter(status=data["status"])
        if data["severity"]:
            incidents = incidents.filter(severity=data["severity"])
        if data["service"]:
            incidents = incidents.filter(services=data["service"])
        if data["since"]:
            incidents = incidents.filter(detected_at__date__gte=data["since"])
        if data["until"]:
            incidents = incidents.filter(detected_at__date__lte=data["until"])
        return incidents


class ReviewForm(forms.Form):
    timeline_summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Timeline summary")
    user_impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="User impact")
    business_impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    prevention = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    lessons_learned = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class CorrectiveActionForm(forms.Form):
    title = forms.CharField(max_length=300)
    owner = UserChoiceField(queryset=_users(), required=False)
    due_date = forms.DateField(widget=DATE_WIDGET)
    status = forms.ChoiceField(choices=ActionStatus.choices, initial=ActionStatus.OPEN)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = _users()

    def clean_due_date(self) -> dt.date:
        due = self.cleaned_data["due_date"]
        try:
            CorrectiveAction.check_due_date(due, timezone.localdate())
        except ValidationError as error:
            raise ValidationError(f"{error.messages[0]} Pick today or a later date.") from error
        return due


CorrectiveActionFormSet = forms.formset_factory(CorrectiveActionForm, extra=3, max_num=30, validate_max=True)


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionStatus.choices)


SLUG_SEPARATORS = re.compile(r"[\s,]+")
MAX_DRILL_RUNBOOKS = 50


class DrillForm(forms.Form):
    # Slugs, not a select: a select of every runbook is megabytes of HTML at 10,000 runbooks.
    runbooks = forms.CharField(
        max_length=5000,
        widget=forms.TextInput(
            attrs={
                "placeholder": "Type to search, e.g. checkout-latency, payments-db-failover",
                "list": "runbook-options",
                "autocomplete": "off",
                "hx-get": reverse_lazy("incidents:runbook_suggestions"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#runbook-options",
                "hx-swap": "innerHTML",
            }
        ),
        help_text="Slugs of the runbooks exercised, separated by commas (the last part of a runbook's address).",
    )
    date = forms.DateField(widget=DATE_WIDGET, initial=timezone.localdate)
    participants = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    outcome = forms.ChoiceField(choices=DrillOutcome.choices, widget=forms.RadioSelect, initial=DrillOutcome.PASSED)
    findings = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=10_000)

    def clean_runbooks(self) -> list[Runbook]:
        slugs = list(dict.fromkeys(s for s in SLUG_SEPARATORS.split(self.cleaned_data["runbooks"]) if s))
        if not slugs:
            raise ValidationError("Name at least one runbook.")
        if len(slugs) > MAX_DRILL_RUNBOOKS:
            raise ValidationError(f"A drill covers at most {MAX_DRILL_RUNBOOKS} runbooks; you named {len(slugs)}.")
        malformed = [s for s in slugs if not slug_re.match(s)]
        found = {r.slug: r for r in Runbook.objects.filter(slug__in=[s for s in slugs if s not in malformed])}
        unknown = [s for s in slugs if s not in found]
        if unknown:
            shown = ", ".join(f"“{s[:80]}”" for s in unknown[:10])
            raise ValidationError(f"No runbook has the slug {shown}. Check the spelling, or find it with search.")
        return [found[s] for s in slugs]

    def clean_date(self) -> dt.date:
        date = self.cleaned_data["date"]
        if date > timezone.localdate():
            raise ValidationError("Record a drill after it happened: the date is in the future.")
        if date < EARLIEST_DATE:
            raise ValidationError(f"That is before {EARLIEST_DATE:%Y}; check the year.")
        return date

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("outcome") == DrillOutcome.GAPS and not (data.get("findings") or "").strip():
            self.add_error("findings", "Describe the gaps that were found.")
        return data
