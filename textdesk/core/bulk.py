"""Inserting many rows fast: one prepared INSERT run with executemany.

Django's ``bulk_create`` compiles every value of every row through the ORM (and on SQLite in
statements of at most 999 parameters), which caps a send's expansion at a few thousand
recipients a second. Here the columns that are the same for every row are prepared once, and
only the ones that vary are prepared per row.
"""

from collections.abc import Sequence

from django.db import connection, models


def _adapter(field: models.Field):
    """How a varying column's Python values become database values. Plain values (text,
    numbers, ids) go as they are; moments and JSON go through Django, as in any query."""
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        return lambda value: None if value is None else adapt(value)
    plain = (models.CharField, models.TextField, models.IntegerField, models.FloatField)
    if isinstance(field, (*plain, models.ForeignKey)):
        return lambda value: value
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
    fixed = [f for f in fields if f.attname not in varying]
    fixed_values = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fixed]
    varying_fields = [by_name[name] for name in varying]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in [*varying_fields, *fixed]]
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) VALUES "
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    one = f"({', '.join(['%s'] * len(columns))})"
    adapters = [_adapter(f) for f in varying_fields]
    params = [
        [*(adapt(value) for adapt, value in zip(adapters, row, strict=True)), *fixed_values]
        for row in rows
    ]
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
    with psycopg.Cursor(connection.connection) as cursor:
        if ignore_conflicts and len(varying_fields) == 1:
            # One statement for all the rows: the varying column from an array.
            column_type = varying_fields[0].db_type(connection)
            constants = ", ".join(["%s"] * len(fixed_values))
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
                f"SELECT v, {constants} FROM unnest(%s::{column_type}[]) AS v{tail}",
                [*fixed_values, [row[0] for row in rows]],
            )
            return
        if ignore_conflicts:
            cursor.executemany(head + one + tail, params)
            return
        table = quote(model._meta.db_table)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
