from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from runbooks import diffs, merge, services
from runbooks.models import Revision, Runbook, Team
from runbooks.roles import EDITOR, REVIEWER, VIEWER, has_role, role_required

from . import drafts, emergency, proposals
from .forms import BreakGlassForm, CommentForm, RequestChangesForm, ReviseForm
from .models import ACTIVE_STATUSES, Proposal, ProposalStatus

LIST_PAGE_SIZE = 100
SHOW_CHOICES = (("all", "All"), ("mine", "Mine"), ("review", "To review"))


def _proposal(pk: int) -> Proposal:
    return get_object_or_404(
        Proposal.objects.select_related(
            "runbook__current_revision",
            "runbook__team",
            "base_revision",
            "author",
            "decided_by",
            "published_revision",
        ),
        pk=pk,
    )


@role_required(VIEWER)
@require_GET
def proposal_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show") if request.GET.get("show") in dict(SHOW_CHOICES) else "all"
    state = "all" if request.GET.get("state") == "all" else "active"
    team_slug = request.GET.get("team", "")
    rows = Proposal.objects.select_related("runbook__team", "author")
    if state == "active":
        rows = rows.filter(status__in=ACTIVE_STATUSES)
    if show == "mine":
        rows = rows.filter(author_id=request.user.pk)
    elif show == "review":
        rows = rows.filter(status=ProposalStatus.OPEN).exclude(author_id=request.user.pk)
        if not has_role(request.user, REVIEWER):
            rows = rows.filter(runbook__team__lead_id=request.user.pk)
    if team_slug:
        rows = rows.filter(Q(runbook__team__slug=team_slug))
    page = Paginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "query": query.urlencode(),
        "page": page,
        "show": show,
        "state": state,
        "team_slug": team_slug,
        "teams": Team.objects.all(),
        "show_choices": SHOW_CHOICES,
    }
    return render(request, "changes/list.html", context)


def _detail(
    request: HttpRequest, proposal: Proposal, *, status: int = 200, **forms: object
) -> HttpResponse:
    runbook = proposal.runbook
    current = runbook.current_revision
    merged = proposals.preview(proposal) if proposal.is_active else None
    if proposal.status == ProposalStatus.APPROVED and proposal.published_revision is not None:
        base_text = proposal.base_revision.body if proposal.base_revision else ""
        lines = diffs.inline(base_text, proposal.published_revision.body)
    else:
        to_publish = merged.text if merged is not None and merged.clean else proposal.body
        lines = diffs.inline(current.body if current else "", to_publish)
    comments = list(proposal.comments.select_related("author"))
    context = {
        "proposal": proposal,
        "runbook": runbook,
        "current": current,
        "merged": merged,
        "stale": merged is not None,
        "lines": lines,
        "stats": (
            sum(line.kind == "insert" for line in lines),
            sum(line.kind == "delete" for line in lines),
        ),
        "comments": comments,
        "line_comments": {c.line for c in comments if c.line},
        "can_approve": proposal.status == ProposalStatus.OPEN
        and proposals.can_approve(request.user, proposal),
        "is_author": proposals.can_revise(request.user, proposal),
        "can_withdraw": proposal.is_active and proposals.can_withdraw(request.user, proposal),
        "can_comment": has_role(request.user, EDITOR)
        or proposals.can_revise(request.user, proposal),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "changes_form": forms.get("changes_form") or RequestChangesForm(),
    }
    return render(request, "changes/detail.html", context, status=status)


@role_required(VIEWER)
@require_GET
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _proposal(pk))


def _refused(
    request: HttpRequest, proposal: Proposal, refusal: proposals.ProposalRefused, **forms: object
) -> HttpResponse:
    messages.error(request, str(refusal))
    return _detail(request, _proposal(proposal.pk), status=refusal.status, **forms)


@role_required(VIEWER)
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _detail(request, proposal, status=400, comment_form=form)
    if not (has_role(request.user, EDITOR) or proposals.can_revise(request.user, proposal)):
        messages.error(request, "Commenting on proposals needs the editor role.")
        return _detail(request, proposal, status=403, comment_form=form)
    try:
        proposals.add_comment(
            proposal,
            by=request.user,
            text=form.cleaned_data["text"],
            line=form.cleaned_data["line"],
        )
    except proposals.ProposalRefused as refusal:
        return _refused(request, proposal, refusal, comment_form=form)
    return redirect(f"{proposal.get_absolute_url()}#comments")


@role_required(EDITOR)
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    try:
        result = proposals.approve(proposal, by=request.user)
    except proposals.ProposalRefused as refusal:
        return _refused(request, proposal, refusal)
    if result.revision is None:
        messages.error(request, result.proposal.conflict_message)
        return _detail(request, _proposal(pk), status=409)
    merged = f", merged with revision {result.merged_with.number}" if result.merged_with else ""
    messages.success(
        request,
        f"Approved and published as version {result.revision.version} (revision {result.revision.number}){merged}.",
    )
    return redirect(proposal.runbook)


@role_required(EDITOR)
@require_POST
def request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    form = RequestChangesForm(request.POST)
    if not form.is_valid():
        return _detail(request, proposal, status=400, changes_form=form)
    try:
        proposals.request_changes(proposal, by=request.user, note=form.cleaned_data["note"])
    except proposals.ProposalRefused as refusal:
        return _refused(request, proposal, refusal, changes_form=form)
    messages.success(request, "Changes requested; the author can revise the proposal.")
    return redirect(proposal)


@role_required(EDITOR)
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    try:
        proposals.withdraw(proposal, by=request.user)
    except proposals.ProposalRefused as refusal:
        return _refused(request, proposal, refusal)
    messages.success(request, "Proposal withdrawn.")
    return redirect(proposal)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def revise(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    if not proposals.can_revise(request.user, proposal) or not proposal.is_active:
        messages.error(request, "Only the author can revise an open proposal.")
        return _detail(request, proposal, status=403)
    current = proposal.runbook.current_revision
    if request.method == "GET":
        body, base = proposal.body, proposal.base_revision
        merged = proposals.preview(proposal)
        if proposal.status == ProposalStatus.CONFLICT and merged is not None:
            # Start from the text merged with what was published since, both sides of each conflict marked.
            body, base = merged.text, current
        initial = {
            "body": body,
            "summary": proposal.summary,
            "base_revision": base.number if base else 1,
        }
        return render(
            request,
            "changes/revise.html",
            {"proposal": proposal, "form": ReviseForm(initial=initial)},
        )
    form = ReviseForm(request.POST)
    if not form.is_valid():
        return render(
            request, "changes/revise.html", {"proposal": proposal, "form": form}, status=400
        )
    if merge.unresolved(form.cleaned_data["body"]):
        form.add_error(
            "body",
            "The text still holds conflict markers (<<<<<<< … >>>>>>>): keep one side of each.",
        )
        return render(
            request, "changes/revise.html", {"proposal": proposal, "form": form}, status=400
        )
    try:
        proposals.revise(
            proposal,
            by=request.user,
            body=form.cleaned_data["body"],
            summary=form.cleaned_data["summary"],
            base_revision=form.cleaned_data["base_revision"],
        )
    except proposals.ProposalRefused as refusal:
        form.add_error(None, str(refusal))
        return render(
            request, "changes/revise.html", {"proposal": proposal, "form": form}, status=409
        )
    messages.success(request, "Proposal revised and open for review again.")
    return redirect(proposal)


def propose_edit(
    request: HttpRequest, runbook: Runbook, edit: services.EditRequest
) -> HttpResponse:
    """An edit-page save under change control: details apply at once, the text becomes a proposal.

    Raises services.EditRefused when the details conflict, as a plain save does.
    """
    try:
        outcome = proposals.save_or_propose(runbook, by=request.user, edit=edit)
    except proposals.ProposalRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(runbook)
    changed = outcome.details.details["changes"] or outcome.details.details["labels"]
    if changed:
        messages.success(request, "Details saved.")
    if outcome.proposal is None:
        if not changed:
            messages.info(request, "Nothing changed.")
        return redirect(runbook)
    proposal = outcome.proposal
    messages.success(
        request, "Your edit is a proposal now: it publishes once someone else approves it."
    )
    return redirect(proposal)


@role_required(EDITOR)
@require_POST
def draft_save(request: HttpRequest) -> HttpResponse:
    """The editor's autosave (htmx): answers with the status line it shows."""
    base = request.POST.get("base_revision", "")
    try:
        draft = drafts.save(
            request.user,
            key=request.POST.get("draft_key", ""),
            body=request.POST.get("body", ""),
            base_revision=int(base) if base.isdigit() else None,
        )
    except drafts.DraftRefused as refusal:
        return HttpResponse(f"Draft not kept: {refusal}", status=400)
    return HttpResponse(
        f"Draft kept at {timezone.localtime(draft.updated_at):%H:%M:%S}, only you can see it."
    )


@role_required(EDITOR)
@require_POST
def draft_discard(request: HttpRequest) -> HttpResponse:
    drafts.discard(request.user, request.POST.get("key", ""))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    messages.info(request, "Draft discarded.")
    return redirect(target)


@role_required(EDITOR)
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest, slug: str) -> HttpResponse:
    """Follow a break-glass runbook: every way of following one asks for a reason and a revoke-by time."""
    runbook = get_object_or_404(
        Runbook.objects.active().select_related("current_revision"), slug=slug
    )
    if not emergency.is_break_glass(runbook):
        messages.error(request, f"“{runbook.title}” is not a break-glass procedure.")
        return redirect(runbook)
    if request.method == "GET":
        initial = {
            "follow": request.GET.get("follow", "run"),
            "incident": request.GET.get("incident", ""),
            "purpose": request.GET.get("purpose", ""),
            "revoke_by": timezone.localtime() + emergency.DEFAULT_ACCESS,
        }
        return render(
            request,
            "changes/break_glass.html",
            {"runbook": runbook, "form": BreakGlassForm(initial=initial)},
        )
    form = BreakGlassForm(request.POST)
    if not form.is_valid():
        return render(
            request, "changes/break_glass.html", {"runbook": runbook, "form": form}, status=400
        )
    data = form.cleaned_data
    try:
        invoked = emergency.invoke(
            runbook,
            by=request.user,
            reason=data["reason"],
            revoke_by=data["revoke_by"],
            follow=data["follow"],
            incident=data["incident"],
            purpose=data["purpose"] or "maintenance",
        )
    except emergency.InvocationRefused as refusal:
        form.add_error(None, str(refusal))
        return render(
            request, "changes/break_glass.html", {"runbook": runbook, "form": form}, status=400
        )
    revoke_at = timezone.localtime(invoked.invocation.revoke_by)
    messages.warning(
        request, f"Break-glass invoked: revoke the access by {revoke_at:%Y-%m-%d %H:%M}."
    )
    if invoked.attachment is not None:
        return redirect(
            "incidents:checklist", number=invoked.attachment.incident.number, slug=runbook.slug
        )
    assert invoked.run is not None
    return redirect(invoked.run)


def propose_restore(
    request: HttpRequest, runbook: Runbook, old: Revision, base_revision: int
) -> HttpResponse:
    """Restoring an old revision under change control proposes its text, like any other edit."""
    try:
        proposal = proposals.open_proposal(
            runbook,
            by=request.user,
            body=old.body,
            base_revision=base_revision,
            summary=f"Restore revision {old.number} (version {old.version})",
        )
    except proposals.ProposalRefused as refusal:
        messages.error(request, f"Not restored. {refusal}")
        return redirect("runbooks:history", slug=runbook.slug)
    messages.success(
        request,
        f"Proposed restoring revision {old.number}: it publishes once someone else approves it.",
    )
    return redirect(proposal)
