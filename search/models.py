"""Search index tables and API tokens.

The full-text index lives in each engine's own machinery: on PostgreSQL a
table of tsvectors (`RunbookSearchDocument`, GIN-indexed by a vendor-guarded
migration), on SQLite an FTS5 virtual table (`search_fts`, created by the same
migration). `search.index` keeps them in step.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from runbooks.models import Runbook

TOKEN_PREFIX = "fxr_"


class RunbookSearchDocument(models.Model):
    """One weighted tsvector per runbook, from its published revision.

    Filled on PostgreSQL only (GIN-indexed there); on SQLite the table exists
    but stays empty, the FTS5 table does the work. It is a managed table so
    that flushes and cascades treat it like any other.
    """

    runbook = models.OneToOneField(
        Runbook, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # Title and alert names (A), lead: summary, first paragraph, Meaning /
    # Symptoms / Impact (B), body (C), labels (D).
    document = SearchVectorField()
    # Title, alert names and lead only: where a word counts most, GIN-indexed
    # too, so broad queries gather their candidates from it first.
    head = SearchVectorField(null=True)
    # Title and alert names, lower-cased, for the title-match bonus.
    names = models.TextField()
    # Unit vector of the names and lead (float32 bytes, search.semantic) for
    # semantic re-ranking; null when that is off or the row predates it.
    embedding = models.BinaryField(null=True, editable=False)

    def __str__(self) -> str:
        return f"search document of runbook {self.runbook_id}"


class SearchWord(models.Model):
    """Vocabulary of the library, for "did you mean" (trigram index on both engines)."""

    word = models.CharField(max_length=40, primary_key=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


class SearchUse(models.Model):
    """A responder searched for `query` and then attached `runbook` to `incident`.

    Later searches with similar words rank that runbook a little higher
    (bounded and fading with age; see search.learning).
    """

    query = models.CharField(max_length=200)
    # The query's words, sorted and de-duplicated: what "similar" compares.
    terms = models.CharField(max_length=200, db_index=True)
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "runbook", "terms"], name="search_use_once_per_incident"
            )
        ]
        indexes = [models.Index(fields=["runbook", "created_at"])]

    def __str__(self) -> str:
        return f"{self.query!r} → runbook {self.runbook_id} in incident {self.incident_id}"


def hash_token(raw: str) -> str:
    # Tokens are 256 random bits, so a fast unsalted digest is enough to make a
    # leaked table useless; a password hasher would cost ~100 ms per API call.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def authenticate(self, raw: str) -> ApiToken | None:
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
            return None
        return (
            self.select_related("user")
            .filter(key_hash=hash_token(raw), user__is_active=True)
            .first()
        )


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiToken(models.Model):
    """A bearer token for chat-ops and alert tooling; only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “slack bot”.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(
        max_length=12, editable=False, help_text="First characters, to recognise it."
    )
    # What the token may do through /api/v1/; the user's role still applies on top.
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def new_raw() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @classmethod
    def issue(cls, user: Any, name: str, scope: str = TokenScope.READ) -> tuple[ApiToken, str]:
        """Create a token; the raw value is returned once and never stored."""
        raw = cls.new_raw()
        token = cls.objects.create(
            user=user, name=name[:100], key_hash=hash_token(raw), key_prefix=raw[:12], scope=scope
        )
        return token, raw

    def allows(self, scope: str) -> bool:
        return scope == TokenScope.READ or self.scope == TokenScope.WRITE

    def touch(self) -> None:
        now = timezone.now()
        ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
