"""The warm runbook page's one query: the runbook's own row, its page stamp,
whether the viewer watches it and the viewer's role, and, when the session's
user has not been read yet, that user's row in the same statement.

Building and compiling these querysets costs more than running them, and so did
a raw queryset's per-row set-up, so their SQL and column converters are
prepared once per process and database vendor with stand-in values, which each
request swaps for its slug and user.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model, QuerySet, Subquery

from .models import Runbook
from .roles import role_rank_expression

SLUG = "\x00runbook-page-slug"
USER_PK = -987_654_321


@dataclass(frozen=True)
class _Compiled:
    """One compiled queryset: its SQL with stand-in values, and how to turn a row back into a model."""

    sql: str
    params: tuple[Any, ...]
    fields: tuple[str, ...]  # the model's loaded attnames, first in each row
    annotations: tuple[tuple[str, int], ...]
    converters: dict[int, tuple[list[Any], Any]]
    width: int

    @classmethod
    def of(cls, query: QuerySet[Any]) -> _Compiled:
        compiler = query.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
        assert compiler.klass_info is not None
        field_positions = compiler.klass_info["select_fields"]
        if field_positions != list(range(len(field_positions))):
            raise RuntimeError("a page query's model columns are not first")
        return cls(
            sql=sql,
            params=tuple(params),
            fields=tuple(columns[i].target.attname for i in field_positions),
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=compiler.get_converters(columns),
            width=compiler.col_count,
        )

    def swapped(self, slug: str, user_pk: Any) -> list[Any]:
        return [slug if p == SLUG else user_pk if p == USER_PK else p for p in self.params]

    def build(self, model: type[Model], row: list[Any]) -> Any:
        """The model instance of `row` (this query's columns only), or None for a row of NULLs from a left join."""
        if all(value is None for value in row):
            return None
        for position, (converters, column) in self.converters.items():
            for convert in converters:
                row[position] = convert(row[position], column, connection)
        instance = model.from_db(connection.alias, self.fields, row[: len(self.fields)])
        for name, position in self.annotations:
            setattr(instance, name, row[position])
        return instance


@dataclass(frozen=True)
class _CompiledPage:
    runbook: _Compiled
    viewer: _Compiled
    viewer_and_runbook_sql: str


def _compile() -> _CompiledPage:
    stand_in = SimpleNamespace(pk=USER_PK)
    runbook = _Compiled.of(
        Runbook.objects.with_page_stamp()
        .with_watched_by(stand_in)
        .annotate(viewer_group_rank=Subquery(role_rank_expression(stand_in)))
        .only(*Runbook.PAGE_ROW_FIELDS)
        .filter(slug=SLUG)
        .order_by()[:1]
    )
    if SLUG not in runbook.params or USER_PK not in runbook.params:
        raise RuntimeError("the runbook page query lost its stand-in values")
    # The user's row as the session's authentication backend reads it (every field).
    viewer = _Compiled.of(get_user_model()._default_manager.filter(pk=USER_PK).order_by()[:1])
    # A missing runbook still returns the user: the page then answers 404, not a login.
    joined = f"SELECT * FROM ({viewer.sql}) viewer LEFT JOIN ({runbook.sql}) page ON 1 = 1"
    return _CompiledPage(runbook=runbook, viewer=viewer, viewer_and_runbook_sql=joined)


_compiled: dict[str, _CompiledPage] = {}


def _page() -> _CompiledPage:
    if connection.vendor not in _compiled:
        _compiled[connection.vendor] = _compile()
    return _compiled[connection.vendor]


def runbook_row(slug: str, user: Any) -> Runbook | None:
    """The runbook's page row for `user`, or None when no runbook has that slug."""
    page = _page()
    with prepared_cursor() as cursor:
        cursor.execute(page.runbook.sql, page.runbook.swapped(slug, user.pk))
        found = cursor.fetchone()
    return None if found is None else page.runbook.build(Runbook, list(found))


def viewer_and_runbook_rows(slug: str, user_pk: Any) -> tuple[Any, Runbook | None]:
    """The user with `user_pk` (None if there is none) and the runbook's page row for them, in one statement.

    The user is read, not vouched for: `fixit_runbooks.session_user.adopt` decides
    whether the session may have it.
    """
    page = _page()
    params = page.viewer.swapped(slug, user_pk) + page.runbook.swapped(slug, user_pk)
    with prepared_cursor() as cursor:
        cursor.execute(page.viewer_and_runbook_sql, params)
        found = cursor.fetchone()
    if found is None:
        return None, None
    row = list(found)
    viewer = page.viewer.build(get_user_model(), row[: page.viewer.width])
    return viewer, page.runbook.build(Runbook, row[page.viewer.width :])


def prepared_cursor() -> Any:
    """A cursor whose statements PostgreSQL keeps prepared on this connection, when allowed.

    With `DATABASE_PREPARED_STATEMENTS` on (the connection's `prepare_threshold`
    set), a server-binding cursor: the page row is planned once per connection
    instead of on every view (its planning cost more than running it). Otherwise,
    and on SQLite, Django's own cursor. Either way wrapped as Django wraps its
    cursors, so the query shows in query logs and counts.
    """
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw: Any = psycopg.Cursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)
