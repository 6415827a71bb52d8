"""The outbox and the dispatcher in this process, against a local receiver: signatures (checked
with the `standardwebhooks` package), retries, the 1 KB cap, redirects, disabling, replays and
the address check at delivery time."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from api.db import utcnow
from api.models import Organization, WebhookAttempt, WebhookDelivery, WebhookEvent
from api.webhooks import endpoints, outbox
from tests.webhooks.receiver import receiver


def _endpoint(db: Any, org: Any, url: str, events: tuple[str, ...] = ("payout_batch.paid",)):
    row, secret = endpoints.create(db, org.id, url, events, "test")
    db.commit()
    return row, secret


def _events(db: Any, org: Any) -> int:
    return db.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.organization_id == org.id)
    )


def _deliveries(db: Any, endpoint: Any) -> list[WebhookDelivery]:
    db.expire_all()
    return list(
        db.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id)
        )
    )


def _attempts(db: Any, delivery: Any) -> list[WebhookAttempt]:
    return list(
        db.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.attempt)
        )
    )


def test_nothing_is_written_for_an_organization_without_a_subscriber(db, factory):
    org = factory.org()
    assert outbox.emit(db, "payout_batch.paid", org.id, {"x": 1}) is None
    _endpoint(db, org, "https://hooks.example.com/a", ("conversion.created",))
    assert outbox.emit(db, "payout_batch.paid", org.id, {"x": 1}) is None
    db.commit()
    assert _events(db, org) == 0
    with pytest.raises(ValueError, match="unknown webhook event type"):
        outbox.emit(db, "payout.batch.paid", org.id, {})


def test_the_outbox_commits_and_rolls_back_with_its_transaction(db, factory):
    org = factory.org()
    endpoint, _ = _endpoint(db, org, "https://hooks.example.com/a")
    assert outbox.emit(db, "payout_batch.paid", org.id, {"n": 1})
    db.rollback()
    assert _events(db, org) == 0
    # the change the event is of fails at commit: the event goes with it
    outbox.emit(db, "payout_batch.paid", org.id, {"n": 2})
    db.add(Organization(name=None))
    with pytest.raises(Exception, match=r"(?i)not.null"):
        db.commit()
    db.rollback()
    assert _events(db, org) == 0
    event_id = outbox.emit(db, "payout_batch.paid", org.id, {"n": 3})
    db.commit()
    assert _events(db, org) == 1
    [delivery] = _deliveries(db, endpoint)
    assert (delivery.event_id, delivery.status, delivery.attempts) == (event_id, "PENDING", 0)
    assert event_id and event_id.startswith("msg_") and "." not in event_id


def test_a_savepoint_rolled_back_forgets_only_its_own_events(db, factory):
    org = factory.org()
    _endpoint(db, org, "https://hooks.example.com/a")

    def owe(label: str) -> None:
        outbox.emit(db, "payout_batch.paid", org.id, {"label": label})

    owe("before")
    with pytest.raises(ValueError), db.begin_nested():
        owe("rolled back")
        raise ValueError
    with db.begin_nested():
        owe("released")
    owe("after")
    db.commit()
    rows = db.scalars(
        select(WebhookEvent).where(WebhookEvent.organization_id == org.id).order_by(WebhookEvent.id)
    )
    assert sorted(r.payload["data"]["label"] for r in rows) == ["after", "before", "released"]


def test_a_delivery_is_signed_as_standard_webhooks_says(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver() as hook:
        endpoint, secret = _endpoint(db, org, hook.url)
        event_id = outbox.emit(db, "payout_batch.paid", org.id, {"amount": "12.34"})
        db.commit()
        assert dispatch(org) == 1
    [got] = hook.requests
    assert Webhook(secret).verify(got.body, got.headers)["data"] == {"amount": "12.34"}
    assert got.headers["webhook-id"] == event_id
    assert json.loads(got.body)["type"] == "payout_batch.paid"
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(endpoints.signing.new_secret()).verify(got.body, got.headers)
    [delivery] = _deliveries(db, endpoint)
    assert (delivery.status, delivery.attempts, delivery.claim) == ("SUCCEEDED", 1, None)
    [attempt] = _attempts(db, delivery)
    assert (attempt.status_code, attempt.response_body, attempt.error) == (200, "ok", None)
    assert attempt.duration_ms >= 0 and attempt.next_attempt_at is None


def test_during_a_rotation_both_secrets_sign(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver() as hook:
        endpoint, old = _endpoint(db, org, hook.url)
        new = endpoints.rotate(db, endpoint)
        outbox.emit(db, "payout_batch.paid", org.id, {})
        db.commit()
        dispatch(org)
        endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
        outbox.emit(db, "payout_batch.paid", org.id, {})
        db.commit()
        dispatch(org)
    first, after = hook.requests
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(first.body, first.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(old).verify(after.body, after.headers)
    assert "whsec_" not in endpoint.secret  # sealed at rest


def test_a_failure_is_kept_and_retried_later(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver(status=500, answer=b"x" * 100_000) as hook:
        endpoint, _ = _endpoint(db, org, hook.url)
        outbox.emit(db, "payout_batch.paid", org.id, {})
        db.commit()
        before = utcnow()
        assert dispatch(org) == 1
        assert dispatch(org) == 0  # not due yet
    [delivery] = _deliveries(db, endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("PENDING", 1, 500)
    assert (
        before + timedelta(seconds=2) < delivery.next_attempt_at < utcnow() + timedelta(seconds=5)
    )
    [attempt] = _attempts(db, delivery)
    assert attempt.status_code == 500 and attempt.error == "HTTP 500"
    assert attempt.response_body == "x" * 1024  # the first 1 KB only
    assert attempt.next_attempt_at == delivery.next_attempt_at
    db.refresh(endpoint)
    assert endpoint.failing_since is not None and endpoint.enabled


def test_redirects_are_not_followed(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver(status=307, headers={"location": "http://127.0.0.1:1/elsewhere"}) as hook:
        endpoint, _ = _endpoint(db, org, hook.url)
        outbox.emit(db, "payout_batch.paid", org.id, {})
        db.commit()
        dispatch(org)
    assert len(hook.requests) == 1
    [delivery] = _deliveries(db, endpoint)
    assert delivery.status == "PENDING" and "redirects are not followed" in delivery.last_error


def test_a_day_of_failures_disables_the_endpoint_and_says_why(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver(status=503) as failing, receiver() as other:
        endpoint, _ = _endpoint(db, org, failing.url)
        _watcher, secret = _endpoint(db, org, other.url, ("webhook_endpoint.disabled",))
        outbox.emit(db, "payout_batch.paid", org.id, {})
        outbox.emit(db, "payout_batch.paid", org.id, {})
        endpoint.failing_since = utcnow() - timedelta(hours=23)
        db.commit()
        dispatch(org, limit=1)
        db.refresh(endpoint)
        assert endpoint.enabled  # 23 hours: not yet
        endpoint.failing_since = utcnow() - timedelta(hours=25)
        db.commit()
        db.execute(
            WebhookDelivery.__table__.update()
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .values(next_attempt_at=utcnow())
        )
        db.commit()
        dispatch(org, limit=1)
        dispatch(org)  # the watcher hears of it
    db.refresh(endpoint)
    assert not endpoint.enabled and endpoint.disabled_at is not None
    assert "every delivery failed since" in endpoint.disabled_reason
    assert "HTTP 503" in endpoint.disabled_reason
    assert [d.status for d in _deliveries(db, endpoint)] == ["FAILED", "FAILED"]
    [told] = other.requests
    data = Webhook(secret).verify(told.body, told.headers)["data"]
    assert data["endpoint"]["disabledReason"] == endpoint.disabled_reason
    # events made while it is disabled are kept (for a replay), not owed to it
    assert outbox.emit(db, "payout_batch.paid", org.id, {}) is not None
    db.commit()
    assert len(_deliveries(db, endpoint)) == 2
    endpoints.enable(db, endpoint)
    assert endpoints.replay_since(db, endpoint, utcnow() - timedelta(hours=1)) == 3
    db.commit()
    assert [d.status for d in _deliveries(db, endpoint)][2:] == ["PENDING"] * 3


def test_410_gone_disables_at_once(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver(status=410) as hook:
        endpoint, _ = _endpoint(db, org, hook.url)
        outbox.emit(db, "payout_batch.paid", org.id, {})
        db.commit()
        dispatch(org)
    db.refresh(endpoint)
    assert not endpoint.enabled and "410 Gone" in endpoint.disabled_reason


def test_a_replay_resends_with_the_same_webhook_id(db, factory, private_urls, dispatch):
    org = factory.org()
    with receiver() as hook:
        endpoint, secret = _endpoint(db, org, hook.url)
        event_id = outbox.emit(db, "payout_batch.paid", org.id, {})
        db.commit()
        dispatch(org)
        [first] = _deliveries(db, endpoint)
        again = endpoints.replay(db, first)
        db.commit()
        dispatch(org)
    assert hook.ids() == [event_id, event_id]
    for got in hook.requests:
        Webhook(secret).verify(got.body, got.headers)
    assert again.replay_of == first.id
    assert [d.status for d in _deliveries(db, endpoint)] == ["SUCCEEDED", "SUCCEEDED"]


def test_the_address_is_checked_again_at_delivery_time(db, factory, dns, dispatch):
    """DNS rebinding: the name resolved to a public address when the endpoint was made, and to
    the loopback one when the event is sent: nothing is sent, the attempt says why."""
    org = factory.org()
    dns["hooks.example.com"] = ["93.184.216.34"]
    endpoint, _ = _endpoint(db, org, "https://hooks.example.com/in")
    dns["hooks.example.com"] = ["93.184.216.34", "127.0.0.1"]
    outbox.emit(db, "payout_batch.paid", org.id, {})
    db.commit()
    dispatch(org)
    [delivery] = _deliveries(db, endpoint)
    [attempt] = _attempts(db, delivery)
    assert attempt.status_code is None
    assert attempt.error == (
        "refused: the URL points at a loopback address (127.0.0.1 for hooks.example.com)"
    )
    assert delivery.status == "PENDING"


def test_the_connection_goes_to_the_address_checked(dns):
    from api.webhooks import egress

    dns["hooks.example.com"] = ["2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34"]
    where = egress.target("https://hooks.example.com:8443/in?x=1", allow_private=False)
    assert where.url == "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/in?x=1"
    assert (where.host, where.host_header) == ("hooks.example.com", "hooks.example.com:8443")
    dns["bücher.example"] = ["93.184.216.34"]
    where = egress.target("https://bücher.example/in", allow_private=False)
    assert (where.url, where.host_header) == ("https://93.184.216.34/in", "xn--bcher-kva.example")
    where = egress.target("https://[2606:2800:220:1::1]:8443/", allow_private=False)
    assert where.host_header == "[2606:2800:220:1::1]:8443"


def test_a_round_claims_each_delivery_once(db, factory, private_urls):
    """Two dispatchers' claims never share a delivery; a claim whose lease ended is taken again
    and the first claimant's late answer is dropped."""
    from api.db import get_sessionmaker
    from api.webhooks import dispatcher, egress

    org = factory.org()
    _endpoint(db, org, "http://127.0.0.1:9/never")
    for _ in range(5):
        outbox.emit(db, "payout_batch.paid", org.id, {})
    db.commit()
    now, lease = utcnow(), timedelta(seconds=30)
    with get_sessionmaker()() as s:
        first = dispatcher.claim(s, now=now, lease=lease, limit=3, organization_id=org.id)
    with get_sessionmaker()() as s:
        second = dispatcher.claim(s, now=now, lease=lease, limit=10, organization_id=org.id)
    mine = {c.delivery_id for c in [*first, *second]}
    assert len(mine) == 5
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    later = now + timedelta(seconds=31)
    with get_sessionmaker()() as s:
        third = dispatcher.claim(s, now=later, lease=lease, limit=10, organization_id=org.id)
    assert {c.delivery_id for c in third} == mine
    assert all(c.attempt == 2 for c in third)
    late = egress.Answer(200, "ok", None, 5)
    item = first[0]
    with get_sessionmaker()() as s:
        assert dispatcher.record(s, item, late, now=later) is False


def test_secrets_are_sealed_again_with_a_new_key(db, factory, monkeypatch):
    """`vouch secrets reencrypt` reseals the endpoints' secrets (current and previous) too, so
    the old key can be dropped; a secret no key unseals stops it before any change."""
    from api.settings import get_settings, reset_settings
    from tracker.sealing import Unsealable, new_key, sealer

    org = factory.org()
    endpoint, secret = _endpoint(db, org, "https://hooks.example.com/a")
    endpoints.rotate(db, endpoint)
    db.commit()
    old = get_settings().secret_keys
    newest = new_key()
    monkeypatch.setenv("VOUCH_SECRET_KEYS", ",".join((newest, *old)))
    reset_settings()
    keys = sealer(get_settings().secret_keys)
    try:
        assert endpoints.reencrypt(db, keys) >= 1
        db.refresh(endpoint)
        assert keys.key_index(endpoint.secret) == 0
        assert keys.key_index(endpoint.previous_secret) == 0
        assert endpoints.signing_secrets(endpoint, utcnow())[1] == secret
        sealed = endpoint.secret
        endpoint.secret = sealer((new_key(),)).seal("whsec_lost")
        db.commit()
        with pytest.raises(Unsealable, match=f"webhook endpoint {endpoint.id}"):
            endpoints.reencrypt(db, keys)
        endpoint.secret = sealed
        db.commit()
    finally:  # every endpoint's secrets back under the tests' key
        db.rollback()
        endpoints.reencrypt(db, sealer((*old, newest)))
        monkeypatch.setenv("VOUCH_SECRET_KEYS", ",".join(old))
        reset_settings()
