import re
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.core import signing

from . import merge, services
from .models import DETAIL_FIELDS, Category, Kind, ReviewCadence, Runbook, Severity, Team

MAX_BODY_CHARS = 200_000


class CommaSeparatedField(forms.CharField):
    """A list typed as "a, b, c" — what people paste from alert rules and tickets."""

    def __init__(self, *args: Any, max_items: int = 50, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        super().__init__(*args, **kwargs)
        self.max_items = max_items

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        items = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
        if len(items) > self.max_items:
            raise forms.ValidationError(f"At most {self.max_items} entries, please.")
        too_long = [item for item in items if len(item) > 100]
        if too_long:
            raise forms.ValidationError(f"Each entry must be 100 characters or fewer: {too_long[0][:40]}…")
        return items


class RunbookForm(forms.ModelForm):
    """Metadata and text of a runbook; the text becomes a new revision."""

    alert_names = CommaSeparatedField(help_text="Alert names that should open this runbook, comma separated.")
    services_list = CommaSeparatedField(label="Services")
    tags_list = CommaSeparatedField(label="Tags")
    related_slugs = CommaSeparatedField(
        label="Related runbooks", help_text="Slugs of related runbooks (the last part of their address), comma separated."
    )
    body = forms.CharField(
        label="Runbook (markdown)",
        widget=forms.Textarea(attrs={"rows": 28, "spellcheck": "true", "class": "editor"}),
        max_length=MAX_BODY_CHARS,
        required=False,
        # Stripping would make every save of an unchanged text look like an edit.
        strip=False,
    )
    change_summary = forms.CharField(
        max_length=300, required=False, help_text="What changed and why — it goes into the document history."
    )
    major = forms.BooleanField(
        required=False,
        label="Major version",
        help_text="The process or tooling changed meaningfully (bumps 1.4 → 2.0).",
    )
    base_revision = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    # The details and labels the form showed, signed: a save applies only what
    # this person changed from them (see runbooks.services).
    shown = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20_000)

    class Meta:
        model = Runbook
        fields = list(DETAIL_FIELDS)
        widgets = {"summary": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, it is made from the title."
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = Team.objects.all()
        runbook = self.instance
        if runbook.pk and not self.is_bound:
            self.initial.setdefault("alert_names", [a.name for a in runbook.alert_names.all()])
            self.initial.setdefault("services_list", [s.name for s in runbook.services.all()])
            self.initial.setdefault("tags_list", [t.name for t in runbook.tags.all()])
            self.initial.setdefault("related_slugs", [r.slug for r in runbook.related.all()])
            if runbook.current_revision:
                self.initial.setdefault("body", runbook.current_revision.body)
                self.initial.setdefault("base_revision", runbook.current_revision.number)
            self.initial.setdefault("shown", services.sign_snapshot(services.snapshot(runbook)))

    def metadata_fields(self) -> list[forms.BoundField]:
        text_fields = {"body", "change_summary", "major", "base_revision", "shown"}
        return [field for field in self if field.name not in text_fields]

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug") or ""
        if slug and Runbook.objects.filter(slug=slug).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another runbook already uses this slug.")
        return slug

    def clean_summary(self) -> str:
        # Browsers post CRLF; the stored text uses LF, and an untouched box must not look edited.
        return (self.cleaned_data.get("summary") or "").replace("\r\n", "\n")

    def clean_shown(self) -> dict[str, Any] | None:
        token = self.cleaned_data.get("shown") or ""
        if not token:
            return None
        try:
            data = services.read_snapshot(token)
        except signing.BadSignature:
            data = None
        if data is None or data["pk"] != self.instance.pk:
            raise forms.ValidationError("This form was damaged or belongs to another runbook; reload the edit page.")
        return data

    def conflict_choices(self) -> dict[int, str]:
        """The choice made for each conflict block of a previous merge (conflict_<n> = mine/theirs/both)."""
        choices = {}
        for key, value in self.data.items():
            match = re.fullmatch(r"conflict_(\d{1,4})", key)
            if match and value in merge.CHOICES:
                choices[int(match[1])] = value
        return choices

    def edit_request(self) -> services.EditRequest:
        data = self.cleaned_data
        base = data.get("base_revision")
        return services.EditRequest(
            body=merge.resolve(data["body"], self.conflict_choices()),
            base_revision=0 if base is None else base,
            change_summary=data["change_summary"],
            major=data["major"],
            values={name: data[name] for name in self.Meta.fields},
            labels=self.labels(),
            shown=data.get("shown"),
        )

    def clean_body(self) -> str:
        body = (self.cleaned_data.get("body") or "").replace("\r\n", "\n")
        if not body.strip():
            raise forms.ValidationError("A runbook needs some text. Start from the template.")
        return body

    def clean_related_slugs(self) -> list[str]:
        slugs = self.cleaned_data["related_slugs"]
        known = set(Runbook.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        unknown = [slug for slug in slugs if slug not in known]
        if unknown:
            raise forms.ValidationError(f"No runbook has the slug: {', '.join(unknown[:5])}.")
        return slugs

    def labels(self) -> dict[str, list[str]]:
        return {
            "alert_names": self.cleaned_data["alert_names"],
            "services": self.cleaned_data["services_list"],
            "tags": self.cleaned_data["tags_list"],
            "related": self.cleaned_data["related_slugs"],
        }


class NewRunbookKindForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, required=False)


class IndexFilterForm(forms.Form):
    """Query-string filters of the library index; bad values are ignored, not a 500."""

    SORTS = {
        "title": ("title",),
        "severity": ("severity", "title"),
        "owner": ("owner__username", "title"),
        "audience": ("audience", "title"),
        "reviewed": ("last_reviewed_at", "title"),
        "-reviewed": ("-last_reviewed_at", "title"),
        "updated": ("-updated_at",),
    }

    category = forms.ChoiceField(choices=[("", "All categories"), *Category.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "All kinds"), *Kind.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "All severities"), *Severity.choices], required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, to_field_name="slug", empty_label="All teams")
    cadence = forms.ChoiceField(choices=[("", "Any cadence"), *ReviewCadence.choices], required=False)
    missing = forms.BooleanField(required=False, label="Missing sections only")
    sort = forms.ChoiceField(
        choices=[
            ("title", "Title"),
            ("severity", "Severity"),
            ("owner", "Owner"),
            ("audience", "Audience"),
            ("reviewed", "Least recently reviewed"),
            ("-reviewed", "Most recently reviewed"),
            ("updated", "Recently updated"),
        ],
        required=False,
    )

    def filter(self, queryset: Any) -> Any:
        data: dict[str, Any] = {}
        if self.is_bound:
            # cleaned_data keeps only the valid fields, so a bad value drops
            # its own filter and the rest of the query still applies.
            self.is_valid()
            data = self.cleaned_data
        for field in ("category", "kind", "severity"):
            if data.get(field):
                queryset = queryset.filter(**{field: data[field]})
        if data.get("team"):
            queryset = queryset.filter(team=data["team"])
        if data.get("cadence"):
            queryset = queryset.filter(review_cadence=data["cadence"])
        if data.get("missing"):
            queryset = queryset.exclude(missing_sections=[])
        return queryset.order_by("category", *self.SORTS[data.get("sort") or "title"])
