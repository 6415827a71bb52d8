"""People: invitations, roles and removal over GraphQL (ADMIN only, tenant-scoped); sign-in by
password, by e-mailed link, after a reset and on accepting an invitation; sessions at /graphql
with the same roles as keys, CSRF-checked; lockout of an account after wrong passwords."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from api.accounts import lockout, sessions
from api.app import create_app
from api.models import Membership, OutboxMail
from api.settings import reset_settings
from api.tracking.publish import redis_client
from tests.factories import gid

ORIGIN = {"Origin": "http://testserver"}
INVITE = "inviteUser"
USER_FIELDS = "user { id email name role hasPassword influencer { id } }"


def last_mail(db: Any, to: str) -> OutboxMail:
    db.expire_all()
    row = db.scalar(
        select(OutboxMail).where(OutboxMail.recipient == to).order_by(OutboxMail.id.desc())
    )
    assert row is not None, f"no mail to {to}"
    return row


def token_in(mail: OutboxMail, path: str) -> str:
    found = re.search(rf"{re.escape(path)}\?token=([\w\-%]+)", mail.body)
    assert found, mail.body
    return found.group(1)


def browser() -> TestClient:
    """A browser of its own address: its failed sign-ins count against it alone, not against
    the `testclient` address every other test's requests come from (AUTH_FAILURES_PER_CLIENT)."""
    address = ".".join(str(b) for b in secrets.token_bytes(3))
    return TestClient(create_app(), follow_redirects=False, client=(f"10.{address}", 1))


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> Any:
    csrf = csrf_of(client)
    return client.post(
        "/signin", data={"email": email, "password": password, "csrf": csrf}, headers=ORIGIN
    )


def graphql(client: TestClient, query: str, csrf: str | None, **headers: str) -> Any:
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post("/graphql", json={"query": query}, headers=headers)


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    prefix = f"test-signin-{secrets.token_hex(4)}"
    monkeypatch.setenv("SIGN_IN_FAILURES_PER_ACCOUNT", "3")
    monkeypatch.setenv("AUTH_FAILURES_PER_CLIENT", "4")
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    reset_settings()
    lockout.breaker.reset()
    yield
    for key in redis_client().scan_iter(match=f"{prefix}:*"):
        redis_client().delete(key)
    monkeypatch.undo()
    reset_settings()


def test_an_admin_invites_a_person_who_accepts_and_signs_in(gql, db, factory):
    w = factory.world()
    admin = w["keys"]["ADMIN"]
    email = f"ana.{secrets.token_hex(3)}@Example.com"
    payload = gql.mutate(
        admin, INVITE, {"email": email, "name": "Ana", "role": "FINANCE"}, USER_FIELDS
    )
    assert payload["userErrors"] == []
    invited = payload["user"]
    assert (invited["email"], invited["role"], invited["hasPassword"]) == (email, "FINANCE", False)
    # the same address in another case is the same person: a second invitation is refused
    again = gql.mutate(admin, INVITE, {"email": email.upper(), "role": "MANAGER"}, USER_FIELDS)
    assert [e["code"] for e in again["userErrors"]] == ["DUPLICATE"]
    listed = gql(admin, "{ users(first: 10) { totalCount edges { node { id email } } } }")
    assert [e["node"]["email"] for e in listed["users"]["edges"]] == [email]

    token = token_in(last_mail(db, email), "/accept")
    client = browser()
    assert client.get(f"/accept?token={token}").status_code == 200
    csrf = csrf_of(client, f"/accept?token={token}")
    short = client.post(
        "/accept", data={"token": token, "password": "short", "csrf": csrf}, headers=ORIGIN
    )
    assert short.status_code == 422 and "at least 10" in short.text
    done = client.post(
        "/accept",
        data={"token": token, "password": "a long passphrase", "csrf": csrf},
        headers=ORIGIN,
    )
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    # the link works once
    assert client.get(f"/accept?token={token}").status_code == 410

    me = "{ viewer { kind role user { email name } organization { name } } }"
    session_csrf = sessions.csrf_token(client.cookies[sessions.COOKIE])
    viewer = graphql(client, me, session_csrf, **ORIGIN).json()["data"]["viewer"]
    assert viewer == {
        "kind": "USER",
        "role": "FINANCE",
        "user": {"email": email, "name": "Ana"},
        "organization": {"name": w["org"].name},
    }
    assert gql(admin, me)["viewer"]["kind"] == "API_KEY"
    # a password sign-in works too, and a wrong password does not
    assert sign_in(browser(), email.lower(), "a long passphrase").status_code == 303
    assert sign_in(browser(), email, "a wrong passphrase").status_code == 401


def test_a_cookie_request_needs_our_origin_and_the_csrf_token(db, factory):
    w = factory.world()
    email, password = factory.user(w["org"], "MANAGER")
    client = browser()
    assert sign_in(client, email, password).status_code == 303
    token = sessions.csrf_token(client.cookies[sessions.COOKIE])
    query = "{ viewer { role } }"
    assert graphql(client, query, token, **ORIGIN).json() == {
        "data": {"viewer": {"role": "MANAGER"}}
    }
    for csrf, headers in [
        (None, ORIGIN),  # no token
        ("0" * 64, ORIGIN),  # a wrong token
        (token, {"Origin": "https://evil.example"}),  # another site's script
        (token, {}),  # no Origin, no Referer
    ]:
        refused = graphql(client, query, csrf, **headers)
        assert refused.status_code == 403, (csrf, headers)
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a cross-site form post to a page is refused too, and signs nobody out
    out = client.post("/signout", data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert out.status_code == 403
    assert graphql(client, query, token, **ORIGIN).status_code == 200
    # a MANAGER user may not do what a MANAGER key may not
    forbidden = graphql(client, "{ users(first: 1) { totalCount } }", token, **ORIGIN).json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert forbidden["errors"][0]["message"].startswith("A MANAGER user cannot list, invite")


def test_roles_and_tenancy_of_users(gql, db, factory):
    w, other = factory.world(), factory.world()
    admin = w["keys"]["ADMIN"]
    for role in ("MANAGER", "FINANCE", "INFLUENCER"):
        refused = gql.mutate(
            w["keys"][role], INVITE, {"email": "x@example.com", "role": "MANAGER"}, "user { id }"
        )
        assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]
    # an INFLUENCER user is bound to an influencer of this organization
    need = gql.mutate(
        admin, INVITE, {"email": "i@example.com", "role": "INFLUENCER"}, "user { id }"
    )
    assert [(e["field"], e["code"]) for e in need["userErrors"]] == [("influencerId", "REQUIRED")]
    foreign = gql.mutate(
        admin,
        INVITE,
        {"email": "i@example.com", "role": "INFLUENCER", "influencerId": gid(other["influencer"])},
        "user { id }",
    )
    assert [e["code"] for e in foreign["userErrors"]] == ["NOT_FOUND"]
    factory.user(other["org"], "MANAGER")
    theirs = db.scalar(select(Membership).where(Membership.organization_id == other["org"].id))
    for name, input in [
        ("updateUserRole", {"userId": gid_user(theirs), "role": "ADMIN"}),
        ("removeUser", {"userId": gid_user(theirs)}),
    ]:
        answer = gql.mutate(admin, name, input, "__typename")
        assert [e["code"] for e in answer["userErrors"]] == ["NOT_FOUND"], name
    assert gql(admin, "{ users(first: 5) { totalCount } }")["users"]["totalCount"] == 0
    assert gql(admin, f'{{ node(id: "{gid_user(theirs)}") {{ id }} }}')["node"] is None


def gid_user(row: Membership) -> str:
    from api.graphql.relay import global_id

    return global_id("User", row.id)


def test_removing_a_user_ends_its_sessions_and_an_admin_stays(gql, db, factory):
    w = factory.world()
    email, password = factory.user(w["org"], "FINANCE")
    admin_email, _ = factory.user(w["org"], "ADMIN")
    client = browser()
    assert sign_in(client, email, password).status_code == 303
    token = sessions.csrf_token(client.cookies[sessions.COOKIE])
    query = "{ viewer { role } }"
    assert graphql(client, query, token, **ORIGIN).status_code == 200
    listed = gql(w["keys"]["ADMIN"], "{ users(first: 5) { edges { node { id email role } } } }")
    by_email = {e["node"]["email"]: e["node"] for e in listed["users"]["edges"]}
    promoted = gql.mutate(
        w["keys"]["ADMIN"],
        "updateUserRole",
        {"userId": by_email[email]["id"], "role": "MANAGER"},
        "user { role }",
    )
    assert promoted["user"] == {"role": "MANAGER"}
    # the role changes from the next request on
    assert graphql(client, query, token, **ORIGIN).json()["data"]["viewer"]["role"] == "MANAGER"
    removed = gql.mutate(
        w["keys"]["ADMIN"], "removeUser", {"userId": by_email[email]["id"]}, "removedUserId"
    )
    assert removed["userErrors"] == []
    assert graphql(client, query, token, **ORIGIN).status_code == 401
    last = gql.mutate(
        w["keys"]["ADMIN"], "removeUser", {"userId": by_email[admin_email]["id"]}, "removedUserId"
    )
    assert [e["code"] for e in last["userErrors"]] == ["LAST_ADMIN"]


def test_sign_in_by_link_and_reset_and_sign_out_everywhere(db, factory):
    w = factory.world()
    email, password = factory.user(w["org"], "MANAGER")
    first = browser()
    assert sign_in(first, email, password).status_code == 303
    # a link, asked for on the sign-in page, signs in once
    client = browser()
    csrf = csrf_of(client)
    sent = client.post("/signin/email", data={"email": email, "csrf": csrf}, headers=ORIGIN)
    assert sent.status_code == 200 and "Check your mail" in sent.text
    token = token_in(last_mail(db, email), "/signin/link")
    assert client.get(f"/signin/link?token={token}").status_code == 200  # a GET uses nothing
    done = client.post("/signin/link", data={"token": token, "csrf": csrf}, headers=ORIGIN)
    assert done.status_code == 303 and sessions.COOKIE in done.headers["set-cookie"]
    assert (
        client.post("/signin/link", data={"token": token, "csrf": csrf}, headers=ORIGIN).status_code
        == 410
    )
    # an unknown address gets the same answer and no mail
    nobody = client.post(
        "/signin/email", data={"email": "no@one.example", "csrf": csrf}, headers=ORIGIN
    )
    assert nobody.status_code == 200 and "Check your mail" in nobody.text
    # a reset sets a new password and ends the other sessions
    reset = browser()
    csrf = csrf_of(reset, "/reset")
    reset.post("/reset", data={"email": email, "csrf": csrf}, headers=ORIGIN)
    token = token_in(last_mail(db, email), "/reset/confirm")
    done = reset.post(
        "/reset/confirm",
        data={"token": token, "password": "another passphrase", "csrf": csrf},
        headers=ORIGIN,
    )
    assert done.status_code == 303
    me = "{ viewer { role } }"
    first_csrf = sessions.csrf_token(first.cookies[sessions.COOKIE])
    assert graphql(first, me, first_csrf, **ORIGIN).status_code == 401
    assert sign_in(browser(), email, password).status_code == 401
    assert sign_in(browser(), email, "another passphrase").status_code == 303
    # sign out everywhere
    token = reset.cookies[sessions.COOKIE]
    out = reset.post(
        "/signout", data={"csrf": sessions.csrf_token(token), "everywhere": "1"}, headers=ORIGIN
    )
    assert out.status_code == 303
    assert graphql(reset, me, sessions.csrf_token(token), **ORIGIN).status_code == 401


def test_an_account_is_locked_after_wrong_passwords(db, factory, small_limits):
    w = factory.world()
    email, password = factory.user(w["org"], "MANAGER")
    for n in range(3):
        client = TestClient(create_app(), follow_redirects=False, client=(f"10.9.0.{n}", 1))
        assert sign_in(client, email, "wrong wrong wrong").status_code == 401
    # from yet another client, the right password is refused for the rest of the window
    client = TestClient(create_app(), follow_redirects=False, client=("10.9.0.99", 1))
    locked = sign_in(client, email, password)
    assert locked.status_code == 429 and "e-mailed link" in locked.text
    # another account is not affected
    other_email, other_password = factory.user(w["org"], "MANAGER")
    assert sign_in(client, other_email, other_password).status_code == 303
    # one client spraying passwords over many accounts is stopped by its own limit (shared with
    # bad API keys), the right password of a fresh account included
    sprayer = TestClient(create_app(), follow_redirects=False, client=("10.9.1.1", 1))
    for n in range(4):
        assert sign_in(sprayer, f"nobody{n}@example.com", "guess guess").status_code == 401
    assert sign_in(sprayer, other_email, other_password).status_code == 429


def test_the_portal_in_the_brands_locale_embeddable_by_its_origins(gql, db, factory):
    from tests.test_finance import entry

    w = factory.world()
    admin = w["keys"]["ADMIN"]
    bad = gql.mutate(
        admin,
        "updateBrand",
        {"brandId": gid(w["brand"]), "portalOrigins": ["https://shop.example/path"]},
        "brand { id }",
    )
    assert [e["field"] for e in bad["userErrors"]] == ["portalOrigins.0"]
    unknown = gql.mutate(
        admin, "updateBrand", {"brandId": gid(w["brand"]), "locale": "xx_YY"}, "brand { id }"
    )
    assert [e["field"] for e in unknown["userErrors"]] == ["locale"]
    done = gql.mutate(
        admin,
        "updateBrand",
        {
            "brandId": gid(w["brand"]),
            "locale": "de-DE",
            "portalOrigins": ["https://Shop.example", "https://shop.example"],
        },
        "brand { locale portalOrigins }",
    )
    assert done["brand"] == {"locale": "de_DE", "portalOrigins": ["https://shop.example"]}
    entry(db, w, 123_456)
    email, password = factory.user(w["org"], "INFLUENCER", w["influencer"])
    client = browser()
    assert sign_in(client, email, password).status_code == 303
    page = client.get("/portal")
    assert page.status_code == 200
    assert "frame-ancestors 'self' https://shop.example" in page.headers["content-security-policy"]
    assert "1.234,56\xa0€" in page.text  # the brand's locale
    # pages of other roles are not found for an influencer; nor is the portal for others
    assert client.get("/finance").status_code == 404
    finance_email, finance_password = factory.user(w["org"], "FINANCE")
    other = browser()
    assert sign_in(other, finance_email, finance_password).status_code == 303
    assert other.get("/portal").status_code == 404
    assert (
        other.get("/finance").headers["content-security-policy"].endswith("frame-ancestors 'none'")
    )


def test_in_a_frame_the_cookies_are_partitioned_and_sign_in_is_framable(db, factory):
    """Inside an iframe (Sec-Fetch-Dest: iframe) the cookies are SameSite=None; Secure;
    Partitioned, so the embedded portal can sign in; the sign-in page may then be framed by the
    origins brands list. As a page of its own it stays unframable, its cookies Strict/Lax."""
    w = factory.world()
    w["brand"].portal_origins = ["https://shop.example"]
    db.commit()
    email, password = factory.user(w["org"], "INFLUENCER", w["influencer"])
    frame = {"sec-fetch-dest": "iframe"}

    top = browser().get("/signin")
    assert top.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert "SameSite=strict" in top.headers["set-cookie"]
    assert "Partitioned" not in top.headers["set-cookie"]

    client = browser()
    framed = client.get("/signin?next=/portal", headers=frame)
    # every brand's listed origins (the sign-in page knows no brand yet), other tests' too
    ancestors = framed.headers["content-security-policy"].rpartition("frame-ancestors ")[2]
    assert ancestors.split()[0] == "'self'" and "https://shop.example" in ancestors.split()
    assert framed.headers["set-cookie"].endswith("SameSite=none; Secure; Partitioned")
    csrf = framed.text.split('name="csrf" value="')[1].split('"')[0]
    # a Secure cookie: the test client keeps it from http://testserver, the browser would not
    frame = {**frame, **ORIGIN, "cookie": f"vouch_csrf={csrf}"}
    done = client.post(
        "/signin",
        data={"email": email, "password": password, "csrf": csrf, "next": "/portal"},
        headers=frame,
    )
    assert done.status_code == 303 and done.headers["location"] == "/portal"
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("vouch_session=") and cookie.endswith("Secure; Partitioned")
    assert "SameSite=none" in cookie and "HttpOnly" in cookie
    # a wrong password inside the frame shows the form again, still framable
    again = client.post(
        "/signin",
        data={"email": email, "password": "wrong wrong", "csrf": csrf},
        headers=frame,
    )
    assert again.status_code == 401
    assert "https://shop.example" in again.headers["content-security-policy"]


def test_an_influencer_answers_an_invitation_on_its_portal(db, factory):
    w = factory.world()
    invited = factory.partnership(factory.campaign(w["brand"]), w["influencer"], status="INVITED")
    email, password = factory.user(w["org"], "INFLUENCER", w["influencer"])
    client = browser()
    assert sign_in(client, email, password).status_code == 303
    page = client.get("/portal")
    assert f"/portal/partnerships/{gid(invited)}/respond" in page.text
    csrf = sessions.csrf_token(client.cookies[sessions.COOKIE])
    url = f"/portal/partnerships/{gid(invited)}/respond"
    assert (
        client.post(url, data={"decision": "ACCEPT", "csrf": "x"}, headers=ORIGIN).status_code
        == 403
    )
    answered = client.post(url, data={"decision": "ACCEPT", "csrf": csrf}, headers=ORIGIN)
    assert answered.status_code == 303 and answered.headers["location"].endswith("accepted")
    db.refresh(invited)
    assert invited.status == "ACCEPTED"
    # answering again is the API's user error, shown on the page
    again = client.post(url, data={"decision": "DECLINE", "csrf": csrf}, headers=ORIGIN)
    assert again.status_code == 422 and 'role="alert"' in again.text


def test_one_time_tokens_work_once_for_their_purpose_within_their_lifetime(db, factory):
    from datetime import timedelta

    from api.accounts import tokens
    from api.db import utcnow

    w = factory.world()
    factory.user(w["org"], "MANAGER")
    member = db.scalar(select(Membership).where(Membership.organization_id == w["org"].id))
    now = utcnow()
    clear = tokens.issue(db, member.user_id, tokens.SIGN_IN, now=now)
    assert tokens.consume(db, clear, tokens.RESET, now=now) is None  # another purpose
    late = now + tokens.LIFETIME[tokens.SIGN_IN] + timedelta(seconds=1)
    assert tokens.consume(db, clear, tokens.SIGN_IN, now=late) is None  # expired
    assert tokens.consume(db, clear, tokens.SIGN_IN, now=now) is not None
    assert tokens.consume(db, clear, tokens.SIGN_IN, now=now) is None  # used
    assert tokens.consume(db, "x" * 500, tokens.SIGN_IN) is None
    db.rollback()


def test_with_smtp_set_mail_is_sent_after_the_commit_not_stored(gql, db, factory, monkeypatch):
    import smtplib

    sent: list[Any] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            assert (host, port) == ("mail.example", 2525)

        def __enter__(self) -> FakeSMTP:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def starttls(self, context: Any) -> None:
            sent.append("starttls")

        def login(self, user: str, password: str) -> None:
            sent.append(("login", user, password))

        def send_message(self, message: Any) -> None:
            sent.append(message)

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    for name, value in {
        "SMTP_HOST": "mail.example",
        "SMTP_PORT": "2525",
        "SMTP_USER": "vouch",
        "SMTP_PASSWORD": "s3cret",
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    try:
        w = factory.world()
        email = f"smtp.{secrets.token_hex(3)}@example.com"
        done = gql.mutate(
            w["keys"]["ADMIN"], INVITE, {"email": email, "role": "MANAGER"}, "user { id }"
        )
        assert done["userErrors"] == []
    finally:
        monkeypatch.undo()
        reset_settings()
    assert sent[:2] == ["starttls", ("login", "vouch", "s3cret")]
    message = sent[2]
    assert message["To"] == email and "/accept?token=" in message.get_content()
    db.expire_all()
    assert db.scalar(select(OutboxMail).where(OutboxMail.recipient == email)) is None


def test_an_admin_manages_people_on_the_people_page(db, factory):
    w = factory.world()
    email, password = factory.user(w["org"], "ADMIN")
    client = browser()
    assert sign_in(client, email, password).status_code == 303
    csrf = sessions.csrf_token(client.cookies[sessions.COOKIE])
    page = client.get("/people")
    assert page.status_code == 200 and email in page.text
    invited = f"page.{secrets.token_hex(3)}@example.com"
    form = {"csrf": csrf, "email": invited, "name": "Bo", "role": "INFLUENCER"}
    need = client.post("/people/invite", data=form, headers=ORIGIN)
    assert need.status_code == 422 and "bound to one influencer" in need.text
    form["influencerId"] = gid(w["influencer"])
    done = client.post("/people/invite", data=form, headers=ORIGIN)
    assert done.status_code == 303 and done.headers["location"] == "/people?done=invite"
    assert "/accept?token=" in last_mail(db, invited).body
    member = db.scalar(
        select(Membership).where(
            Membership.organization_id == w["org"].id, Membership.influencer_id.is_not(None)
        )
    )
    user_id = gid_user(member)
    changed = client.post(
        "/people/role", data={"csrf": csrf, "userId": user_id, "role": "FINANCE"}, headers=ORIGIN
    )
    assert changed.status_code == 303
    db.refresh(member)
    assert (member.role, member.influencer_id) == ("FINANCE", None)
    gone = client.post("/people/remove", data={"csrf": csrf, "userId": user_id}, headers=ORIGIN)
    assert gone.status_code == 303
    db.expunge(member)  # deleted by the app: its id may be used again
    assert invited not in client.get("/people").text
    # the page is the ADMIN's
    other_email, other_password = factory.user(w["org"], "FINANCE")
    finance = browser()
    assert sign_in(finance, other_email, other_password).status_code == 303
    assert finance.get("/people").status_code == 404
