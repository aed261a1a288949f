from collections.abc import Iterable
from typing import Any, cast

from django import forms

from runbooks.models import Category, Kind, ReviewState, Service, Severity, Tag, Team

from .engine import MAX_LIMIT, Filters
from .queries import MAX_QUERY_CHARS


class SearchForm(forms.Form):
    """The query and its filters, all in the query string so a search can be shared."""

    q = forms.CharField(required=False, strip=True)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *Kind.choices], required=False)
    category = forms.ChoiceField(choices=[("", "Any category"), *Category.choices], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, to_field_name="slug", empty_label="Any team"
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.all(),
        required=False,
        to_field_name="name",
        empty_label="Any service",
    )
    tag = forms.ModelChoiceField(
        queryset=Tag.objects.all(), required=False, to_field_name="name", empty_label="Any tag"
    )
    review = forms.ChoiceField(
        choices=[("", "Any review status"), *ReviewState.choices], required=False
    )
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)

    FILTERS = ("kind", "category", "severity", "team", "service", "tag", "review")

    def filter_selects(self) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        """(name, [(value, label, selected)]) per filter: a plain loop in the template
        renders these several times faster than seven Select widgets."""
        selects = []
        for name in self.FILTERS:
            current = str(self.data.get(name, "")) if self.is_bound else ""
            field = cast(forms.ChoiceField, self.fields[name])
            # Django normalises choices to (value, label) pairs when they are set; the stubs type the raw input.
            pairs = cast(Iterable[tuple[Any, Any]], field.choices)
            options = [(str(value), str(label), str(value) == current) for value, label in pairs]
            selects.append((name, options))
        return selects

    def clean_q(self) -> str:
        # Longer text is cut rather than refused: a pasted log line should still search.
        return self.cleaned_data["q"][:MAX_QUERY_CHARS]

    def query(self) -> str:
        return self.cleaned_data.get("q", "") if hasattr(self, "cleaned_data") else ""

    def filters(self) -> Filters:
        """The valid filters; an invalid one is dropped (and reported by the form)."""
        data = getattr(self, "cleaned_data", {})
        values = {}
        for name in self.FILTERS:
            value = data.get(name)
            if isinstance(value, Team):
                value = value.slug
            elif isinstance(value, Service | Tag):
                value = value.name
            values[name] = value or ""
        return Filters(**values)
