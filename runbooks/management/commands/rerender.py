"""python manage.py rerender [--all]

Revisions are immutable: their markdown body, author, number and summary are
never rewritten. ``body_html`` and ``toc`` are not part of that record: they
are derived from the body by ``render_markdown`` under a sanitiser policy, and
stored only so pages need not render on every view. When the policy changes
(SANITIZER_POLICY_VERSION bumped, e.g. a tag dropped from the allow-list
after a security report), HTML made under the old policy is exactly what must
not keep being served, so it is re-derived from the unchanged body. The write
is a queryset ``update()`` that names only the derived columns, conditional on
the old policy stamp, so it bypasses ``Revision.save()`` (which refuses any
change) and cannot touch the record itself or race a concurrent rerender.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q

from runbooks import markdown
from runbooks.models import Revision, Runbook

BATCH = 200


class Command(BaseCommand):
    help = "Re-render stored revision HTML made under an older sanitiser policy (or every revision, with --all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Re-render every revision, whatever its policy stamp.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        policy_now = markdown.SANITIZER_POLICY_VERSION
        stale = Q() if options["all"] else Q(rendered_policy__lt=policy_now)
        updated = refused = 0
        touched_runbooks: set[int] = set()
        last_pk = 0
        while True:
            batch = list(
                Revision.objects.filter(stale, pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", "runbook_id", "rendered_policy", "body")[:BATCH]
            )
            if not batch:
                break
            for pk, runbook_id, policy, body in batch:
                last_pk = pk
                try:
                    rendered = markdown.render(body)
                except markdown.RenderTooComplex as refusal:
                    refused += 1
                    self.stderr.write(f"Revision {pk} kept its old HTML: {refusal}")
                    continue
                updated += Revision.objects.filter(pk=pk, rendered_policy=policy).update_derived(
                    body_html=rendered.html,
                    toc=[list(entry) for entry in rendered.toc],
                    rendered_policy=policy_now,
                )
                touched_runbooks.add(runbook_id)
        # Cached pages hold the old HTML: a new page version gives them new cache keys.
        Runbook.objects.filter(pk__in=touched_runbooks).bump_page_version()
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-rendered {updated} revisions under sanitiser policy {policy_now}"
                + (f"; {refused} refused as too complex (old HTML kept)" if refused else "")
            )
        )
