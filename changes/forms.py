from django import forms

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
