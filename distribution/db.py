"""Database helpers the ORM does not offer."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def insert_unless_exists(instance: models.Model, *, unique: Sequence[str]) -> bool:
    """INSERT `instance` unless a row with the same values in `unique` (the fields of a unique constraint)
    exists. True, with the primary key set, when it was inserted; False (nothing written) when it exists.

    `INSERT ... ON CONFLICT (...) DO NOTHING` needs no savepoint, unlike catching an IntegrityError: a
    concurrent insert of the same key waits for the other transaction, and is skipped if that one commits.
    Values are prepared as `save()` prepares them (auto_now fields are filled in on the instance); no
    signals are sent.
    """
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection=connection) for f in fields]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)  # type: ignore[arg-type]  # concrete: it has a column
    conflict = ", ".join(qn(meta.get_field(name).column) for name in unique)  # type: ignore[union-attr, arg-type]  # concrete fields
    sql = (  # names from the model's meta, quoted; values bound
        f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {qn(meta.pk.column)}"  # type: ignore[arg-type]  # a pk has a column
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


def advisory_lock(*parts: object, shared: bool = False) -> None:
    """A transaction-scoped PostgreSQL advisory lock on a name built from `parts`."""
    name = ":".join(str(p) for p in parts)
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtextextended(%s, 0))", [name])
