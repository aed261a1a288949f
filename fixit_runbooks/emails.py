"""Every email is a subject / text / HTML template triplet rendered here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def build(template_prefix: str, to: list[str], context: dict[str, Any]) -> EmailMultiAlternatives:
    """Render `templates/emails/<prefix>_{subject.txt,body.txt,body.html}` into one message."""
    context = {"site_url": settings.SITE_URL, **context}
    # A header with a newline in it is refused by Django, so the subject is folded to one line.
    subject = " ".join(render_to_string(f"emails/{template_prefix}_subject.txt", context).split())
    text = render_to_string(f"emails/{template_prefix}_body.txt", context)
    html = render_to_string(f"emails/{template_prefix}_body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=to)
    message.attach_alternative(html, "text/html")
    return message

