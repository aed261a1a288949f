from typing import Any

from django import forms

from incidents.models import Incident, RunPurpose
from runbooks.forms import MAX_BODY_CHARS

from .proposals import MAX_COMMENT_CHARS


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_COMMENT_CHARS
    )
    line = forms.IntegerField(
        label="On line (optional)",
        required=False,
        min_value=1,
        help_text="A line number of the proposed text.",
    )


class RequestChangesForm(forms.Form):
    note = forms.CharField(
        label="What should change", widget=forms.Textarea(attrs={"rows": 3}), max_length=2_000
    )


class ReviseForm(forms.Form):
    body = forms.CharField(
        label="Proposed text (markdown)",
        widget=forms.Textarea(attrs={"rows": 25, "class": "editor"}),
        max_length=MAX_BODY_CHARS,
        strip=False,
    )
    summary = forms.CharField(label="Change summary", max_length=300)
    base_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean_body(self) -> str:
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")


FOLLOW_CHOICES = (
    ("run", "As a checklist, outside any incident"),
    ("new_incident", "In a new incident"),
    ("incident", "In an open incident"),
)


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label="Why is emergency access needed",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2_000,
    )
    revoke_by = forms.DateTimeField(
        label="Revoke by",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When the access must be gone. You and the security contact are reminded then.",
    )
    follow = forms.ChoiceField(choices=FOLLOW_CHOICES, initial="run", label="Follow it")
    incident = forms.CharField(
        label="Incident number",
        required=False,
        max_length=20,
        help_text="For “in an open incident”, e.g. INC-2026-0042.",
    )
    purpose = forms.ChoiceField(
        choices=RunPurpose.choices,
        initial=RunPurpose.MAINTENANCE,
        required=False,
        widget=forms.HiddenInput,
    )

    def clean_incident(self) -> Incident | None:
        number = self.cleaned_data["incident"].strip()
        if not number:
            return None
        incident = Incident.objects.filter(number=number).first()
        if incident is None:
            raise forms.ValidationError(f"There is no incident {number}.")
        if not incident.is_open:
            raise forms.ValidationError(
                f"{number} is {incident.get_status_display().lower()}; pick an open incident."
            )
        return incident

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("follow") == "incident"
            and not data.get("incident")
            and "incident" not in self.errors
        ):
            self.add_error("incident", "Name the open incident to attach the runbook to.")
        return data
