"""Asserting that a mutation was refused and changed nothing: the rows of an organization
before and after, and the one user error it answered."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select


def org_rows(db: Any, org: Any, models: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    """Every row of `models` in an organization, column by column."""
    db.expire_all()
    out = {}
    for model in models:
        rows = db.scalars(
            select(model).where(model.organization_id == org.id).order_by(model.id)
        ).all()
        out[model.__tablename__] = [
            {c.key: getattr(r, c.key) for c in model.__table__.columns} for r in rows
        ]
    return out


def refused(
    gql: Any,
    db: Any,
    w: dict[str, Any],
    models: Iterable[Any],
    role: str,
    name: str,
    input: dict[str, Any],
    field: str | None,
    code: str,
    select_: str,
) -> dict[str, Any]:
    """Runs a mutation expected to fail: one user error, no object, no row of `models`
    changed."""
    models = list(models)
    before = org_rows(db, w["org"], models)
    payload = gql.mutate(w["keys"][role], name, input, select_)
    errors = payload["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)], errors
    assert errors[0]["message"]
    assert org_rows(db, w["org"], models) == before
    return payload
