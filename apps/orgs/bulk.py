"""Bulk INSERT for the sync's hot paths: a page of rows travels as one JSON document.

Django 5.2 bulk-inserts on PostgreSQL through ``UNNEST`` of one array per column, and psycopg
quotes those arrays in Python, one regex substitution per quote character; for a page of JSON
payloads that cost more than the insert itself, and building the statement through the ORM's
compiler cost as much again. Here the rows are one ``jsonb`` parameter, encoded by orjson and
typed by ``jsonb_to_recordset`` on the server, and sent apart from the statement (`bound_cursor`).

`bulk_insert` keeps what the services rely on from ``bulk_create``: auto_now fields stamped,
related objects' ids taken, primary keys set on the objects in insert order (as Django relies
on for ``INSERT ... RETURNING``), ``ignore_conflicts`` and ``update_conflicts``. Other databases
(SQLite for `make run`) get ``bulk_create`` itself.
"""

from __future__ import annotations

import decimal
import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import orjson
import psycopg
from django.db import connections, models, router
from django.utils import timezone

_PLAIN_PRE_SAVE = models.Field.pre_save


class _BoundCursor:
    """A psycopg cursor that still goes through Django's execute wrappers and query log, so
    CaptureQueriesContext, assertNumQueries and instrumentation see its statements."""

    def __init__(self, connection, cursor: psycopg.Cursor):
        self.db, self.cursor = connection, cursor

    def execute(self, sql: str, params: Sequence) -> None:
        def run(sql, params, many, context):
            return self.cursor.execute(sql, params, prepare=False)

        executor = run
        for wrapper in reversed(self.db.execute_wrappers):
            executor = functools.partial(wrapper, executor)
        start = time.monotonic()
        try:
            with self.db.wrap_database_errors:
                executor(sql, params, False, {"connection": self.db, "cursor": self})
        finally:
            if self.db.queries_logged:
                # The statement without its values: a page of rows is no log line.
                took = time.monotonic() - start
                self.db.queries_log.append({"sql": sql, "time": f"{took:.3f}"})

    def fetchall(self) -> list[tuple]:
        with self.db.wrap_database_errors:
            return self.cursor.fetchall()


@contextmanager
def bound_cursor(connection) -> Iterator[_BoundCursor]:
    """A PostgreSQL cursor that sends parameters apart from the statement text.

    Django's cursors bind on the client: psycopg quotes every value into the SQL in Python, a
    measurable share of a backfill whose statements carry a page of JSON or arrays of a
    thousand keys. Same connection and transaction as Django's cursors, the same checks before
    a query, and errors come out as Django's (IntegrityError and the rest). Statements are
    never prepared, so a pooler in transaction mode stays safe.
    """
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield _BoundCursor(connection, cursor)


def _encode(value):
    # Only what model fields hold and orjson cannot write (it writes dates, times and UUIDs as
    # PostgreSQL reads them back).
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be bulk-inserted as JSON")


@cache
def _plan(model: type[models.Model], vendor_db: str):
    """Per model: the columns to insert, their types for the recordset, and the fields whose
    ``pre_save`` does work (auto_now) or that point at another object."""
    connection = connections[vendor_db]
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    stamped = [f for f in fields if type(f).pre_save is not _PLAIN_PRE_SAVE]
    related = [f for f in fields if f.is_relation and f.many_to_one]
    # Without the type's modifiers: a too-long text must fail on the column, as it would in
    # an INSERT, not be cut short by a cast to varchar(n).
    types = [f.db_type(connection).split("(")[0] for f in fields]
    return fields, stamped, related, types


def bulk_insert(
    objs: Sequence[models.Model],
    *,
    ignore_conflicts: bool = False,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> list[models.Model]:
    """Inserts unsaved objects of one model in one statement and returns them.

    With ``update_conflicts`` semantics when ``update_fields`` is given (``unique_fields`` name
    the conflict target), or DO NOTHING with ``ignore_conflicts`` (no primary keys are set, as
    with ``bulk_create``). Objects must not have a primary key yet.
    """
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    if connections[alias].vendor != "postgresql":
        return model._default_manager.bulk_create(
            objs, **_conflict_options(ignore_conflicts, unique_fields, update_fields)
        )
    fields, stamped, related, _ = _plan(model, alias)
    for obj in objs:
        if obj.pk is not None:
            raise ValueError("bulk_insert only inserts new objects (this one has a primary key).")
        for f in related:
            # The same step as save(): an object assigned before it was saved has its id now.
            if getattr(obj, f.attname) is None and f.is_cached(obj):
                target = f.get_cached_value(obj)
                if target is not None:
                    if target.pk is None:
                        raise ValueError(f"{f.name} of {model.__name__} is not saved yet.")
                    setattr(obj, f.attname, target.pk)
        for f in stamped:
            f.pre_save(obj, add=True)
    ids = _insert(
        model,
        alias,
        [{f.attname: getattr(o, f.attname) for f in fields} for o in objs],
        ignore_conflicts=ignore_conflicts,
        unique_fields=unique_fields,
        update_fields=update_fields,
    )
    for i, obj in enumerate(objs):
        if ids is not None:
            obj.pk = ids[i]
        obj._state.adding = False
        obj._state.db = alias
    return objs


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict],
    *,
    ignore_conflicts: bool = False,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> list | None:
    """Like `bulk_insert` for rows given as ``{attname: value}`` dicts, without building a
    model instance per row (the larger part of the cost for narrow rows such as identifiers).
    Missing fields take their defaults and auto_now stamps. Returns the new primary keys in
    row order, or None with ``ignore_conflicts``."""
    if not rows:
        return [] if not ignore_conflicts or update_fields else None
    alias = router.db_for_write(model)
    if connections[alias].vendor != "postgresql":
        objs = model._default_manager.bulk_create(
            [model(**row) for row in rows],
            **_conflict_options(ignore_conflicts, unique_fields, update_fields),
        )
        return None if ignore_conflicts and not update_fields else [o.pk for o in objs]
    fields = _plan(model, alias)[0]
    attnames = {f.attname for f in fields}
    now = timezone.now()
    complete = []
    for row in rows:
        if unknown := row.keys() - attnames:
            raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}.")
        row = dict(row)
        for f in fields:
            if f.attname not in row:
                stamp = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                row[f.attname] = now if stamp else f.get_default()
        complete.append(row)
    return _insert(
        model,
        alias,
        complete,
        ignore_conflicts=ignore_conflicts,
        unique_fields=unique_fields,
        update_fields=update_fields,
    )


def _conflict_options(ignore_conflicts, unique_fields, update_fields) -> dict:
    if update_fields:
        return {
            "update_conflicts": True,
            "unique_fields": unique_fields,
            "update_fields": update_fields,
        }
    return {"ignore_conflicts": ignore_conflicts}


def _insert(model, alias, rows, *, ignore_conflicts, unique_fields, update_fields):
    connection = connections[alias]
    fields, _, _, types = _plan(model, alias)
    if any(f.column != f.attname for f in fields):
        rows = [{f.column: row[f.attname] for f in fields} for row in rows]
    # orjson: a backfill writes a million rows, and the json module was a tenth of its time.
    document = orjson.dumps(rows, default=_encode, option=orjson.OPT_NON_STR_KEYS).decode()
    qn = connection.ops.quote_name
    columns = [qn(f.column) for f in fields]
    names = ", ".join(columns)
    record = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
    # Only names and types from the model's own metadata are interpolated; rows are a parameter.
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({names}) "  # noqa: S608
        f"SELECT {names} FROM jsonb_to_recordset(%s::jsonb) AS r({record})"
    )
    if update_fields:
        by_name = {f.name: f for f in fields}
        target = ", ".join(qn(by_name[n].column) for n in unique_fields)
        updates = ", ".join(
            f"{qn(by_name[n].column)} = EXCLUDED.{qn(by_name[n].column)}" for n in update_fields
        )
        sql += f" ON CONFLICT ({target}) DO UPDATE SET {updates}"
    elif ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    returning = update_fields or not ignore_conflicts
    if returning:
        sql += f" RETURNING {qn(model._meta.pk.column)}"
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, [document])
        return [row[0] for row in cursor.fetchall()] if returning else None
