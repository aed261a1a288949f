from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from .models import Contact, EscalationStep


class ContactForm(forms.ModelForm):
    paging_url = forms.URLField(
        label="Paging link", max_length=500, required=False, assume_scheme="https"
    )
    schedule_url = forms.URLField(
        label="Schedule URL", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = Contact
        fields = ["role", "name", "phone", "email", "chat_handle", "paging_url", "schedule_url"]


ContactFormSet: Any = forms.modelformset_factory(
    Contact,
    form=ContactForm,
    fields=["role", "name", "phone", "email", "chat_handle", "paging_url", "schedule_url"],
    extra=2,
    can_delete=True,
    max_num=30,
    validate_max=True,
)

EscalationFormSet: Any = forms.modelformset_factory(
    EscalationStep,
    fields=["wait_minutes", "who", "how"],
    extra=2,
    can_delete=True,
    max_num=20,
    validate_max=True,
)


def formsets(
    data: Any, contacts: QuerySet[Contact], steps: QuerySet[EscalationStep]
) -> tuple[Any, Any]:
    return (
        ContactFormSet(data, queryset=contacts, prefix="contacts"),
        EscalationFormSet(data, queryset=steps, prefix="steps"),
    )
