"""`manage.py rerender` re-derives stored HTML after a sanitiser policy change, nothing else."""

from io import StringIO

from django.core.management import call_command

from runbooks import markdown
from runbooks.models import Revision


def _rerender(*args: str) -> str:
    out = StringIO()
    call_command("rerender", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_policy_bump_re_renders_revisions_made_under_the_old_one(runbook, monkeypatch):
    revision = runbook.current_revision
    Revision.objects.filter(pk=revision.pk).update_derived(body_html="<p>old policy</p>")
    monkeypatch.setattr(markdown, "SANITIZER_POLICY_VERSION", markdown.SANITIZER_POLICY_VERSION + 1)
    assert "Re-rendered 1 revisions" in _rerender()
    revision.refresh_from_db()
    assert revision.body_html == markdown.render(revision.body).html
    assert revision.rendered_policy == markdown.SANITIZER_POLICY_VERSION


def test_revisions_already_under_the_current_policy_are_left_alone(runbook):
    Revision.objects.filter(pk=runbook.current_revision_id).update_derived(body_html="<p>kept</p>")
    assert "Re-rendered 0 revisions" in _rerender()
    assert Revision.objects.get(pk=runbook.current_revision_id).body_html == "<p>kept</p>"


def test_the_record_itself_is_unchanged(runbook):
    before = (
        Revision.objects.filter(pk=runbook.current_revision_id)
        .values("body", "number", "author", "created_at", "change_summary")
        .get()
    )
    _rerender("--all")
    after = (
        Revision.objects.filter(pk=runbook.current_revision_id)
        .values("body", "number", "author", "created_at", "change_summary")
        .get()
    )
    assert after == before


def test_cached_runbook_pages_get_new_keys(runbook):
    before = runbook.page_version
    _rerender("--all")
    runbook.refresh_from_db()
    assert runbook.page_version == before + 1
