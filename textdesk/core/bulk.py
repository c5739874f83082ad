"""Inserting many rows fast: one prepared INSERT run with executemany.

Django's ``bulk_create`` compiles every value of every row through the ORM (and on SQLite in
statements of at most 999 parameters), which caps a send's expansion at a few thousand
recipients a second. Here the columns that are the same for every row are prepared once, and
only the ones that vary are prepared per row.
"""

from collections.abc import Sequence

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault


def _adapter(field: models.Field):
    """How a varying column's Python values become database values, or None when they go as
    they are (text, numbers, ids). Moments and JSON go through Django, as in any query."""
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        # A batch's moments are mostly the same few (now, a window's opening): adapt each once.
        cache: dict = {None: None}

        def adapt_moment(value):
            try:
                return cache[value]
            except KeyError:
                cache[value] = adapted = adapt(value)
                return adapted

        return adapt_moment
    plain = (models.CharField, models.TextField, models.IntegerField, models.FloatField)
    if isinstance(field, (*plain, models.ForeignKey)):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def insert_many(
    model: type[models.Model],
    varying: Sequence[str],
    rows: Sequence[Sequence],
    *,
    same: dict,
    ignore_conflicts: bool = False,
) -> None:
    """Insert ``rows`` (values of the ``varying`` fields, by attname, in that order) with every
    other field taken from ``same`` or its default, as ``Model(**same)`` would have it."""
    if not rows:
        return
    template = model(**same)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    by_name = {f.attname: f for f in fields}
    unknown = set(varying) - set(by_name)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    # Fields left to the database's own default are left out of the INSERT.
    fixed = [
        f
        for f in fields
        if f.attname not in varying and not isinstance(f.pre_save(template, True), DatabaseDefault)
    ]
    fixed_values = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fixed]
    varying_fields = [by_name[name] for name in varying]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in [*varying_fields, *fixed]]
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) VALUES "
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    one = f"({', '.join(['%s'] * len(columns))})"
    adapted = [(i, adapt) for i, f in enumerate(varying_fields) if (adapt := _adapter(f))]
    params = []
    for row in rows:
        if len(row) != len(varying_fields):
            raise ValueError(f"Expected {len(varying_fields)} values, got {len(row)}: {row!r}")
        values = [*row, *fixed_values]
        for i, adapt in adapted:
            values[i] = adapt(values[i])
        params.append(values)
    if connection.vendor == "sqlite":
        # SQLite runs one prepared statement per row very fast.
        with connection.cursor() as cursor:
            cursor.executemany(head + one + tail, params)
        return
    # PostgreSQL: Django's cursors bind parameters client-side, which makes executemany a
    # round trip per row and a many-row VALUES slow to quote. A server-side binding cursor
    # on the same connection (and transaction) pipelines executemany, and COPY is faster still.
    import psycopg

    connection.ensure_connection()
    # Errors surface as Django's (IntegrityError...), as from any other query.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        if ignore_conflicts and not any(isinstance(f, models.JSONField) for f in varying_fields):
            # One statement for all the rows: each varying column from an array.
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in varying_fields)
            names = ", ".join(f"v{i}" for i in range(len(varying_fields)))
            constants = ", ".join(["%s"] * len(fixed_values))
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
                f"SELECT {names}, {constants} FROM unnest({arrays}) AS v({names}){tail}",
                [*fixed_values, *([row[i] for row in params] for i in range(len(varying_fields)))],
            )
            return
        if ignore_conflicts:
            cursor.executemany(head + one + tail, params)
            return
        table = quote(model._meta.db_table)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
