from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model

from runbooks.models import ReviewOutcome

from .models import ReminderPreference


class ReviewForm(forms.Form):
    # The revision the reviewer read: a sign-off vouches for that text, not whatever is current when it arrives.
    revision = forms.IntegerField(
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "required": "The form did not say which revision you reviewed; reload the page and try again."
        },
    )
    outcome = forms.ChoiceField(choices=ReviewOutcome.choices, initial=ReviewOutcome.ACCURATE)
    note = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional, goes into the document history.",
    )


class RequestReviewForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        initial="Requested by hand",
        help_text="Why it needs a look, e.g. the system changed.",
    )


def _display_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


class ReminderPreferenceForm(forms.ModelForm):
    class Meta:
        model = ReminderPreference
        fields = ["frequency", "on_leave", "delegate"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = cast(forms.ModelChoiceField, self.fields["delegate"])
        users = get_user_model().objects.filter(is_active=True).exclude(pk=user.pk)
        field.queryset = users.order_by("username")
        field.label_from_instance = _display_name  # type: ignore[method-assign,assignment]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        delegate = data.get("delegate")
        if delegate is not None and not delegate.email:
            self.add_error(
                "delegate",
                f"{delegate.get_username()} has no email address, so cannot receive digests.",
            )
        return data
