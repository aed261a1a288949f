from __future__ import annotations

from typing import Any

from django import forms

from .models import SUBSCRIBABLE_EVENTS, Channel


class ChannelForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=SUBSCRIBABLE_EVENTS,
        widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _ in SUBSCRIBABLE_EVENTS],
        help_text="What this channel hears about.",
    )
    url = forms.URLField(
        max_length=1000,
        label="URL",
        assume_scheme="https",
        help_text="For chat: the incoming-webhook URL from Slack, Mattermost or Rocket.Chat. "
        "For JSON webhooks: your endpoint. Shown masked once saved.",
    )

    class Meta:
        model = Channel
        fields = ["team", "name", "kind", "url", "events"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// URLs can receive notifications.")
        return url


class ChannelEditForm(ChannelForm):
    """Editing keeps the saved URL unless a new one is typed: the old one is never sent back to the browser."""

    url = forms.URLField(
        required=False,
        max_length=1000,
        label="New URL",
        help_text="Leave empty to keep the saved URL.",
        assume_scheme="https",
    )

    class Meta(ChannelForm.Meta):
        fields = ["team", "name", "url", "events"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["url"] = ""

    def clean_url(self) -> str:
        if not self.cleaned_data.get("url"):
            return self.instance.url
        return super().clean_url()
