"""Migration 0008 (partnerships.invitation_message, WITHDRAWN in the status CHECK): down to 0007
and up again on the session database, with a WITHDRAWN row present."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.exc import IntegrityError


def _statuses(engine: Any, ids: list[int]) -> list[str]:
    query = text("SELECT id, status FROM partnerships WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    with engine.connect() as conn:
        found = dict(conn.execute(query, {"ids": ids}).all())
    return [found[i] for i in ids]


def _set_status(engine: Any, pk: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE partnerships SET status = :s WHERE id = :id"), {"s": status, "id": pk}
        )


def _columns(engine: Any) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("partnerships")}


def test_downgrade_to_0007_and_upgrade_again_with_a_withdrawn_row(factory, db):
    from api.db import get_engine, reset_engine
    from api.migrations import downgrade, upgrade
    from api.models import Partnership

    w = factory.world()
    withdrawn = factory.partnership(
        w["campaign"], factory.influencer(w["org"]), status="WITHDRAWN", invitation_message="Hi"
    )
    invited = factory.partnership(
        w["campaign"], factory.influencer(w["org"]), status="INVITED", invitation_message="Hey"
    )
    ids = [withdrawn.id, invited.id, w["partnership"].id]
    db.close()
    reset_engine()
    try:
        downgrade("0007")
        engine = get_engine()
        assert "invitation_message" not in _columns(engine)
        # WITHDRAWN rows went back to DECLINED; the others kept their status.
        assert _statuses(engine, ids) == ["DECLINED", "INVITED", "ACTIVE"]
        # The constraint of 0006 is back: WITHDRAWN is not a status at 0007.
        with pytest.raises(IntegrityError):
            _set_status(engine, invited.id, "WITHDRAWN")
    finally:
        reset_engine()
        upgrade()
        reset_engine()
    engine = get_engine()
    assert "invitation_message" in _columns(engine)
    _set_status(engine, invited.id, "WITHDRAWN")
    assert _statuses(engine, ids) == ["DECLINED", "WITHDRAWN", "ACTIVE"]
    with pytest.raises(IntegrityError):
        _set_status(engine, invited.id, "RETRACTED")
    assert _statuses(engine, ids) == ["DECLINED", "WITHDRAWN", "ACTIVE"]
    # The models work on the upgraded table: the dropped messages are gone, not garbled.
    db.expire_all()
    rows = [db.get(Partnership, pk) for pk in ids]
    assert [(r.status, r.invitation_message) for r in rows] == [
        ("DECLINED", None),
        ("WITHDRAWN", None),
        ("ACTIVE", None),
    ]
    db.rollback()
