"""The filter language's PostgreSQL back-end: a parsed filter as a parameterized condition
over the columns of ``campaign.contacts``.

Every value travels as a bind parameter with an explicit cast, and every name is an
``Identifier``, so no filter can inject SQL. Positive predicates keep the shape the indexes
serve (``location = ANY(…)``, ``interests && …``, ``attributes @> …``, plain ranges);
``not`` is pushed down to the predicates (De Morgan), where a negated predicate becomes
``NOT coalesce(p, false)`` so that a NULL column gives the same answer as ``matches``.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from telecast_campaign.domain.filters import And, Expr, Kind, Not, Or, Predicate

_COMPARISON = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NEGATION = {"ne": "eq", "nin": "in"}
TRUE = sql.SQL("true")
FALSE = sql.SQL("false")


def to_sql(expr: Expr) -> tuple[sql.Composable, list[Any]]:
    """The condition (for a ``WHERE``) and its parameters, in order."""
    params: list[Any] = []
    return _compile(expr, False, params), params


def _compile(expr: Expr, negated: bool, params: list[Any]) -> sql.Composable:
    if isinstance(expr, Not):
        return _compile(expr.item, not negated, params)
    if isinstance(expr, And | Or):
        conjunction = isinstance(expr, And) != negated
        if not expr.items:
            return TRUE if conjunction else FALSE
        parts = [_compile(item, negated, params) for item in expr.items]
        if len(parts) == 1:
            return parts[0]
        joiner = sql.SQL(" AND ") if conjunction else sql.SQL(" OR ")
        return sql.SQL("({})").format(joiner.join(parts))
    op = expr.op
    if op in _NEGATION:
        op, negated = _NEGATION[op], not negated
    positive = _predicate(expr, op, params)
    if negated:
        return sql.SQL("NOT coalesce({}, false)").format(positive)
    return positive


def _param(params: list[Any], value: Any, cast: str) -> sql.Composable:
    params.append(value)
    return sql.SQL("%s::" + cast)


def _predicate(p: Predicate, op: str, params: list[Any]) -> sql.Composable:
    column = sql.Identifier(p.spec.column)
    if p.key is not None:
        return _attribute(p, op, params)
    kind, cast = p.spec.kind, p.spec.sql_type
    if op == "exists":
        test = sql.SQL("{} <> '{{}}'") if kind is Kind.TAGS else sql.SQL("{} IS NOT NULL")
        condition = test.format(column)
        return condition if p.value else sql.SQL("NOT ({})").format(condition)
    if op == "any":
        return sql.SQL("{} && {}").format(column, _param(params, list(p.value), "text[]"))
    if op == "all":
        return sql.SQL("{} @> {}").format(column, _param(params, list(p.value), "text[]"))
    if op == "in":
        return sql.SQL("{} = ANY({})").format(column, _param(params, list(p.value), cast + "[]"))
    if op == "between":
        low = _param(params, p.value[0], cast)
        high = _param(params, p.value[1], cast)
        return sql.SQL("{} BETWEEN {} AND {}").format(column, low, high)
    return sql.SQL("{} {} {}").format(
        column, sql.SQL(_COMPARISON[op]), _param(params, p.value, cast)
    )


def _attribute(p: Predicate, op: str, params: list[Any]) -> sql.Composable:
    key = p.key
    if op == "exists":
        condition = sql.SQL("attributes ? {}").format(_param(params, key, "text"))
        return condition if p.value else sql.SQL("NOT ({})").format(condition)
    if op == "eq":
        # Containment is what the GIN (jsonb_path_ops) index answers.
        return sql.SQL("attributes @> {}").format(_param(params, Jsonb({key: p.value}), "jsonb"))
    if op == "in":
        parts = [
            sql.SQL("attributes @> {}").format(_param(params, Jsonb({key: value}), "jsonb"))
            for value in p.value
        ]
        return parts[0] if len(parts) == 1 else sql.SQL("({})").format(sql.SQL(" OR ").join(parts))
    # Ranges compare numbers only: jsonb orders across types (a string is "less" than a
    # number), which no one means by "greater than 5".
    typed = sql.SQL("jsonb_typeof(attributes -> {}) = 'number'").format(_param(params, key, "text"))
    value = sql.SQL("(attributes -> {})").format(_param(params, key, "text"))
    if op == "between":
        low = _param(params, Jsonb(p.value[0]), "jsonb")
        high = _param(params, Jsonb(p.value[1]), "jsonb")
        comparison = sql.SQL("{} BETWEEN {} AND {}").format(value, low, high)
    else:
        comparison = sql.SQL("{} {} {}").format(
            value, sql.SQL(_COMPARISON[op]), _param(params, Jsonb(p.value), "jsonb")
        )
    return sql.SQL("({} AND {})").format(typed, comparison)
