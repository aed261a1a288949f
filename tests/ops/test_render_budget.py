"""Every body the editor accepts is rendered or refused with a message, never a stalled worker."""

from typing import Any

import pytest
from django.urls import reverse

from runbooks.forms import MAX_BODY_CHARS
from runbooks.markdown import TOO_COMPLEX_MESSAGE, RenderTooComplex, render
from runbooks.models import Revision
from tests.runbooks.test_editing import form_data


def _fill(unit: str) -> str:
    """``unit`` repeated to the editor's full size (the issue's 198 KB bodies)."""
    return (unit * (MAX_BODY_CHARS // len(unit) + 1))[:MAX_BODY_CHARS]


# Each measured at 3 s to over 30 s before the budget; the last two split the
# hostile run into paragraphs so only the time limit can stop them.
HOSTILE_BODIES = {
    "unclosed links": _fill("<a "),
    "nested div": _fill("<div>"),
    "nested details": _fill("<details>"),
    "single angle quotes": _fill("\u2039"),
    "single angle quote entities": _fill("&lsaquo;"),
    "emphasis runs": _fill("_a_ "),
    "unclosed strong": _fill("**x"),
    "unclosed links in short paragraphs": _fill("<a " * 400 + "\n\n"),
    "deep list": "".join("  " * depth + "- x\n" for depth in range(600))[:MAX_BODY_CHARS],
    "deep quotes": ">" * 5000 + " x",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_body_is_rendered_or_refused_with_the_message(body):
    # The budget itself bounds how long this takes: a regression shows as a refusal or a hang.
    try:
        result = render(body)
    except RenderTooComplex as refusal:
        assert str(refusal).startswith(TOO_COMPLEX_MESSAGE)
    else:
        assert "<script" not in result.html


def test_nesting_past_the_cap_is_refused_before_rendering():
    with pytest.raises(RenderTooComplex, match="nest 101 deep"):
        render("<div>" * 101 + "x")


def test_an_ordinary_body_still_renders_after_a_refusal(settings):
    settings.RENDER_TIME_LIMIT = 0.2
    with pytest.raises(RenderTooComplex, match="longer than 0.2 seconds"):
        render(HOSTILE_BODIES["unclosed links in short paragraphs"])
    settings.RENDER_TIME_LIMIT = 5
    assert render("## Restart\n\nRun `make restart`.").toc == [(2, "restart", "Restart")]


def test_code_blocks_do_not_count_towards_the_caps():
    fence = "```yaml\n" + "<div>\n" * 500 + "```\n"
    assert render(fence).html.count("&lt;div&gt;") == 500


def _htmx_preview(client: Any, body: str) -> Any:
    return client.post(reverse("runbooks:preview"), {"body": body}, HTTP_HX_REQUEST="true")


def test_preview_of_a_hostile_body_shows_the_refusal(editor_client):
    response = _htmx_preview(editor_client, HOSTILE_BODIES["nested div"])
    assert response.status_code == 200
    assert TOO_COMPLEX_MESSAGE in response.content.decode()


def test_saving_a_hostile_body_is_refused_and_writes_nothing(editor_client, runbook):
    url = reverse("runbooks:edit", args=[runbook.slug])
    response = editor_client.post(url, form_data(runbook, body=HOSTILE_BODIES["unclosed strong"]))
    assert response.status_code == 400
    assert TOO_COMPLEX_MESSAGE in response.content.decode()
    assert Revision.objects.filter(runbook=runbook).count() == 1


def test_previews_past_the_per_user_rate_are_refused_with_429(editor_client, settings):
    settings.PREVIEWS_PER_MINUTE = 3
    statuses = [_htmx_preview(editor_client, "# Hi").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_429_says_what_to_do(editor_client, settings):
    settings.PREVIEWS_PER_MINUTE = 1
    _htmx_preview(editor_client, "# Hi")
    response = editor_client.post(reverse("runbooks:preview"), {"body": "# Hi"})
    assert "Too many previews" in response.content.decode()
    assert int(response["Retry-After"]) <= 60


def test_the_preview_rate_is_per_user(editor_client, make_user, settings):
    from django.test import Client

    settings.PREVIEWS_PER_MINUTE = 1
    _htmx_preview(editor_client, "# Hi")
    other = Client()
    other.force_login(make_user("erin", "editor"))
    assert _htmx_preview(other, "# Hi").status_code == 200


def test_saves_past_the_per_user_rate_are_refused_with_429(editor_client, runbook, settings):
    settings.SAVES_PER_MINUTE = 1
    url = reverse("runbooks:edit", args=[runbook.slug])
    editor_client.post(url, form_data(runbook, body="## Symptoms\n\nfirst"))
    runbook.refresh_from_db()
    response = editor_client.post(url, form_data(runbook, body="## Symptoms\n\nsecond"))
    assert response.status_code == 429
    assert Revision.objects.filter(runbook=runbook).count() == 2


def test_a_refused_save_keeps_the_typed_text_in_the_editor(editor_client, runbook):
    body = HOSTILE_BODIES["unclosed strong"]
    url = reverse("runbooks:edit", args=[runbook.slug])
    response = editor_client.post(url, form_data(runbook, body=body))
    assert response.status_code == 400
    assert response.context["form"]["body"].value() == body
    assert "Not saved." in response.content.decode()


def test_creating_a_runbook_with_a_hostile_body_keeps_the_form(editor_client):
    from runbooks.models import Runbook

    body = HOSTILE_BODIES["nested div"]
    response = editor_client.post(
        reverse("runbooks:create") + "?kind=incident",
        {"title": "Too deep", "kind": "incident", "category": "service", "severity": "P2",
         "review_cadence": "monthly", "body": body},
    )
    assert response.status_code == 400
    assert response.context["form"]["body"].value() == body
    assert not Runbook.objects.filter(title="Too deep").exists()
