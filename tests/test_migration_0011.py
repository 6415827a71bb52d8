"""Migration 0011 (postback secrets sealed): down to 0010 the secrets are in clear again, and up
every secret stored in clear is sealed, with its brand queued for the tracker's copy; a secret
no key unseals stops the downgrade in one line instead of being lost."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from api.models import BrandPostbackSecret, TrackerPublication
from api.settings import get_settings
from api.tracking import postback_secrets
from tracker.sealing import Sealer, new_key, sealer
from tracker.settings import SettingError


def _secrets(engine: Any, brand_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.scalars(
                text("SELECT secret FROM brand_postback_secrets WHERE brand_id = :b ORDER BY id"),
                {"b": brand_id},
            )
        )


def _queued(engine: Any, after: int) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(TrackerPublication.kind, TrackerPublication.ref_id)
            .where(TrackerPublication.id > after)
            .order_by(TrackerPublication.id)
        ).all()
    return [(k, int(r)) for k, r in rows]


def test_downgrade_unseals_and_upgrade_seals_what_is_in_clear(factory, db):
    from api.db import get_engine, reset_engine
    from api.migrations import current_revision, downgrade, upgrade

    keys = sealer(get_settings().secret_keys)
    w = factory.world()
    brand = w["brand"].id
    clear = postback_secrets.rotate(db, brand)
    db.commit()
    last = int(db.scalar(select(func.coalesce(func.max(TrackerPublication.id), 0))) or 0)
    db.close()
    reset_engine()
    try:
        downgrade("0010")
        engine = get_engine()
        assert _secrets(engine, brand) == [clear]
        with engine.begin() as conn:  # a secret rotated by the code of 0010
            conn.execute(
                text(
                    "INSERT INTO brand_postback_secrets (organization_id, brand_id, secret, "
                    "created_at) VALUES (:o, :b, 'whsec_from_0010', :c)"
                ),
                {"o": w["org"].id, "b": brand, "c": w["brand"].created_at},
            )
    finally:
        reset_engine()
        upgrade()
        reset_engine()
    engine = get_engine()
    stored = _secrets(engine, brand)
    assert [keys.unseal(s) for s in stored] == [clear, "whsec_from_0010"]
    assert not [s for s in stored if "whsec_" in s]
    # The worker publishes the sealed records (the tracker no longer reads clear ones).
    assert ("brand_secrets", brand) in _queued(engine, last)
    with engine.begin() as conn:
        conn.execute(TrackerPublication.__table__.delete().where(TrackerPublication.id > last))
    assert current_revision() == _head()


def _head() -> str | None:
    """The newest revision (later ones sit on top of 0011)."""
    from alembic.script import ScriptDirectory

    from api.migrations import config

    return ScriptDirectory.from_config(config()).get_current_head()


def test_downgrade_stops_in_one_line_at_a_secret_no_key_unseals(factory, db):
    from api.db import get_engine, reset_engine
    from api.migrations import current_revision, downgrade, upgrade

    w = factory.world()
    lost = Sealer([new_key()]).seal("whsec_lost")
    db.add(BrandPostbackSecret(organization_id=w["org"].id, brand_id=w["brand"].id, secret=lost))
    db.commit()
    db.close()
    reset_engine()
    try:
        with pytest.raises(SettingError) as refused:
            downgrade("0010")
        message = str(refused.value)
        assert message.startswith("VOUCH_SECRET_KEYS '***': postback secret ")
        assert "\n" not in message and "cannot downgrade it to clear" in message
        # 0011 refused: the database is where it was (PostgreSQL: one transaction) or where
        # 0011 stopped, the newer revisions undone first (SQLite commits each one).
        assert current_revision() in {"0011", _head()}
        assert _secrets(get_engine(), w["brand"].id) == [lost]
        with get_engine().connect() as conn:  # nothing changed: no row left in clear
            everything = conn.scalars(text("SELECT secret FROM brand_postback_secrets")).all()
        assert everything and not [s for s in everything if s.startswith("whsec_")]
    finally:
        reset_engine()
        with get_engine().begin() as conn:
            conn.execute(
                BrandPostbackSecret.__table__.delete().where(
                    BrandPostbackSecret.brand_id == w["brand"].id
                )
            )
        upgrade()  # back to the newest head for the tests that follow
        reset_engine()
