"""What a database's schemas are made of, read from PostgreSQL's catalog, to compare two.

Columns (in order, with types, defaults and generated expressions), constraints, indexes,
storage options, composite types and functions (white space collapsed: the same function
written on one line or several is the same function). The migrations' own bookkeeping
(``alembic_version``) is left out: a database made before migrations has none.
"""

from __future__ import annotations

import psycopg

SCHEMAS = ("campaign", "gateway", "projection", "dispatcher", "telegram_sim")

_QUERIES = {
    "columns": """
        SELECT table_schema, table_name, ordinal_position, column_name, data_type, udt_name,
               is_nullable, column_default, generation_expression
        FROM information_schema.columns
        WHERE table_schema = ANY(%(schemas)s) AND table_name <> 'alembic_version'
    """,
    "constraints": """
        SELECT n.nspname, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.conname <> 'alembic_version_pkc'
    """,
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = ANY(%(schemas)s) AND tablename <> 'alembic_version'
    """,
    "storage": """
        SELECT n.nspname, c.relname, c.relkind, c.reloptions
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.relname NOT LIKE 'alembic_version%%'
    """,
    "types": """
        SELECT n.nspname, t.typname, format_type(a.atttypid, a.atttypmod), a.attname, a.attnum
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
        WHERE n.nspname = ANY(%(schemas)s)
    """,
    "functions": """
        SELECT n.nspname, p.proname,
               regexp_replace(pg_get_functiondef(p.oid), '\\s+', ' ', 'g')
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(schemas)s)
    """,
}


def describe(database_url: str, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, list[tuple]]:
    with psycopg.connect(database_url) as conn:
        return {
            part: sorted(
                (
                    tuple(str(v) for v in row)
                    for row in conn.execute(query, {"schemas": list(schemas)})
                ),
            )
            for part, query in _QUERIES.items()
        }
