"""What the current database session can see of every tenant table, with no merchant condition."""

from django.db import connection

from distribution import rls


def visible_merchants() -> dict[str, list[int]]:
    """{table: sorted merchant ids of the rows this session can read} for every protected table."""
    seen = {}
    with connection.cursor() as cursor:
        for table, column in rls.tenant_tables():
            cursor.execute(f"SELECT DISTINCT {column} FROM {table} ORDER BY 1")
            seen[table] = [row[0] for row in cursor.fetchall()]
    return seen
