"""`vouch secrets`: a new key, re-encrypting every stored secret with the newest key (the
tracker's copy too), and VOUCH_SECRET_KEYS refused in one line that never shows a key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select

from api.cli import main
from api.cli.checks import DATABASE, DEV_KEY_IN_USE, preflight
from api.finance import payout_details
from api.models import BrandPostbackSecret, PayoutDetails
from api.models.payouts import PayoutMethod
from api.settings import get_settings, reset_settings
from api.tracking import postback_secrets, publish
from tests.tracking_fixtures import redis_env_fixture  # noqa: F401 - redis_env
from tracker import keys
from tracker.sealing import Sealer, is_key, new_key, sealer

OLD = get_settings().secret_keys[0]  # the tests' key (tests/conftest.py)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets variables as an operator would, the settings read again after each change and
    after the test."""

    def set_(**values: str | None) -> None:
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_settings()

    yield set_
    reset_settings()


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


def test_new_key_prints_a_key_that_seals(capsys):
    assert main(["secrets", "new-key"]) == 0
    out = capsys.readouterr()
    (key,) = lines(out.out)
    assert is_key(key) and Sealer([key]).unseal(Sealer([key]).seal("x")) == "x"
    assert "VOUCH_SECRET_KEYS" in out.err


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not-a-key", "key 1 of 1 is not a Fernet key"),
        (f"{new_key()},{new_key()[:-2]}", "key 2 of 2 is not a Fernet key"),
        (f"{new_key()}, Zm9v", "key 2 of 2 is not a Fernet key"),  # base64, but 3 bytes
        (" , ,", "no key in it"),
    ],
    ids=["garbage", "truncated", "short", "commas"],
)
def test_a_bad_key_is_one_line_that_never_shows_it(env, capsys, value, problem):
    env(VOUCH_SECRET_KEYS=value)
    assert main(["secrets", "reencrypt"]) == 2
    err = capsys.readouterr().err
    (line,) = lines(err)
    assert line.startswith(f"error: VOUCH_SECRET_KEYS '***': {problem}")
    for part in value.split(","):
        assert not part.strip() or part.strip() not in line.removeprefix("error: ")


def test_the_dev_key_is_a_warning_with_a_database_but_sqlite(env, capsys, tmp_path):
    postgres = "postgresql://vouch@127.0.0.1:1/vouch"  # nothing listens: refused after it
    env(VOUCH_SECRET_KEYS=None, DATABASE_URL=postgres)
    assert get_settings().dev_secret_key
    assert main(["secrets", "reencrypt"]) == 2
    warning, error = lines(capsys.readouterr().err)
    assert warning == f"warning: {DEV_KEY_IN_USE}" and error.startswith("error: DATABASE_URL")
    env(VOUCH_SECRET_KEYS=new_key())  # a key set: no warning
    assert main(["secrets", "reencrypt"]) == 2
    assert [line.split(":")[0] for line in lines(capsys.readouterr().err)] == ["error"]
    env(VOUCH_SECRET_KEYS=None, DATABASE_URL=f"sqlite:///{tmp_path}/local.db")  # a local run
    preflight([DATABASE])
    assert capsys.readouterr().err == ""


def _tokens(db: Any) -> dict[int, str]:
    db.expire_all()
    return dict(db.execute(select(BrandPostbackSecret.id, BrandPostbackSecret.secret)).all())


def test_reencrypt_moves_every_secret_and_the_trackers_copy_to_the_newest_key(
    factory, db, env, capsys, redis_env
):
    w = factory.world()
    clear = postback_secrets.rotate(db, w["brand"].id)
    publish.mark(db, publish.BRAND_SECRETS, w["brand"].id)
    account = payout_details.validate(
        PayoutMethod.SEPA, currency="EUR", account_holder="Ana", iban="DE89370400440532013000"
    )
    details, _ = payout_details.set_details(db, w["org"].id, w["influencer"].id, account, "t")
    db.commit()
    new = new_key()
    env(VOUCH_SECRET_KEYS=f"{new},{OLD}")
    try:
        assert main(["secrets", "reencrypt"]) == 0
        err = capsys.readouterr().err
        assert "the 1 older key(s) may be dropped" in err
        only_new = sealer((new,))
        # Payout details too: under the new key, the same account.
        db.expire_all()
        sealed = db.get(PayoutDetails, details.id).sealed
        assert only_new.key_index(sealed) == 0 and payout_details.account_of(details) == account
        tokens = _tokens(db)
        assert all(only_new.key_index(t) == 0 for t in tokens.values())
        record = redis_env.client.get(keys.brand_secrets(redis_env.prefix, w["brand"].id))
        (mine,) = [t for t in tokens.values() if t in record]
        assert only_new.unseal(mine) == clear and clear not in record
        assert main(["secrets", "reencrypt"]) == 0  # nothing left to move
        assert "0 postback secrets" in capsys.readouterr().err
    finally:  # the other tests' rows back under the tests' key
        env(VOUCH_SECRET_KEYS=f"{OLD},{new}")
        assert main(["secrets", "reencrypt"]) == 0
    assert all(sealer((OLD,)).key_index(t) == 0 for t in _tokens(db).values())


def test_reencrypt_refuses_in_one_line_a_secret_no_key_unseals(factory, db, capsys, redis_env):
    w = factory.world()
    stranger = Sealer([new_key()]).seal("whsec_lost")
    row = BrandPostbackSecret(organization_id=w["org"].id, brand_id=w["brand"].id, secret=stranger)
    db.add(row)
    db.commit()
    before = _tokens(db)
    try:
        assert main(["secrets", "reencrypt"]) == 1
        (line,) = lines(capsys.readouterr().err)
        assert line.startswith(f"error: postback secret {row.id} of brand {w['brand'].id} is ")
        assert OLD not in line
        assert _tokens(db) == before
    finally:
        db.execute(delete(BrandPostbackSecret).where(BrandPostbackSecret.id == row.id))
        db.commit()
