"""The pages in a real browser (Debian's Chromium driven by Playwright, against `vouch serve`):
sign-in with a password and with a link read from the mail outbox; an influencer sees only its
own links, its QR code decodes to its link, its earnings equal `balance`; another
organization's page is a 404; a cross-site form post is refused; axe-core finds no serious or
critical violation on any page.

With SCREENSHOTS=<dir> (`make screenshots`), a PNG of each page is written there.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import playwright_or_skip
from tests.factories import gid

sync_api = playwright_or_skip()
zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp is not installed")
Image = pytest.importorskip("PIL.Image", reason="pillow is not installed")

AXE = "/static/pages/vendor/axe-core/axe.min.js"
SHOTS = os.environ.get("SCREENSHOTS", "")
TIMEOUT_MS = 15_000
BALANCE = """query($id: ID!, $currency: String!) {
  balance(influencerId: $id, currency: $currency) {
    pending { amount } available { amount } paid { amount } held { amount }
  }
}"""
LINKS = "{ partnerships(first: 100) { edges { node { links { url } } } } }"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # a phone's width: every page must be usable there
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield page
    context.close()
    assert errors == []


def check_page(page: Any, name: str) -> None:
    """No serious or critical axe-core violation (WCAG 2.1 A/AA and best practices); and the
    screenshot, when asked for."""
    page.add_script_tag(url=AXE)  # same origin: the page's CSP lets it in
    violations = page.evaluate(
        """() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
        'best-practice']}).then(r => r.violations.filter(v => ['serious', 'critical']
        .includes(v.impact)).map(v => v.id + ': ' + v.nodes.map(n => n.target).join(' ')))"""
    )
    assert violations == [], f"{name}: {violations}"
    if SHOTS:  # a desktop's width and this phone's
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        phone = page.viewport_size
        page.set_viewport_size({"width": 1200, "height": 800})
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)
        page.set_viewport_size(phone)
        page.screenshot(path=str(Path(SHOTS) / f"{name}-phone.png"), full_page=True)


def sign_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action='/signin'] button")
    page.wait_for_load_state()


def test_an_influencer_signs_in_and_sees_its_own_portal(
    page: Any, api_url: str, db: Any, factory: Any, gql: Any
) -> None:
    from tests.test_finance import entry

    w = factory.world()
    manager = w["keys"]["MANAGER"]
    peer = factory.influencer(w["org"], name="Someone Else")
    theirs = factory.partnership(w["campaign"], peer)
    for partnership in (w["partnership"], theirs):
        issued = gql.mutate(
            manager, "issueTrackedLink", {"partnershipId": gid(partnership)}, "link { url }"
        )
        assert issued["userErrors"] == []
    entry(db, w, 12_345)  # available
    entry(db, w, 2_000, hold_days=30)  # pending
    entry(db, w, 999, influencer=peer)  # someone else's
    email, password = factory.user(w["org"], "INFLUENCER", w["influencer"])

    page.goto(f"{api_url}/portal")  # signed out: to the sign-in page, and back after it
    assert "/signin?next=/portal" in page.url
    check_page(page, "signin")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action='/signin'] button")
    page.wait_for_url(f"{api_url}/portal")
    check_page(page, "portal")

    key = w["keys"]["INFLUENCER"]
    own = [
        link["url"]
        for edge in gql(key, LINKS)["partnerships"]["edges"]
        for link in edge["node"]["links"]
    ]
    shown = page.eval_on_selector_all("[data-link-url]", "els => els.map(e => e.dataset.linkUrl)")
    assert shown == own and len(own) == 1
    # the QR code decodes to the link
    src = page.get_attribute("img.qr", "src")
    png = page.request.get(api_url + src.replace(".svg", ".png"))
    assert png.status == 200 and png.headers["content-type"] == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body())))
    assert code.text == own[0]
    # the earnings are the API's balance
    balance = gql(key, BALANCE, id=gid(w["influencer"]), currency="EUR")["balance"]
    figures = page.eval_on_selector_all(
        "[data-currency='EUR'] [data-figure]",
        "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.dataset.amount]))",
    )
    assert figures == {k: v["amount"] for k, v in balance.items()}
    assert figures["available"] == "123.45" and figures["pending"] == "20.00"
    assert "€123.45" in page.inner_text("[data-currency='EUR']")
    # the disclosure check runs as a caption is typed
    w["campaign"]  # the world's deliverable-less partnership: add one and reload
    factory.deliverable(w["partnership"])
    page.reload()
    page.fill("textarea.caption", "Love this serum!")
    page.wait_for_selector(".check .verdict")
    assert "Disclosure:" in page.inner_text(".check")
    # another influencer's QR code is not found
    other = gql(
        w["keys"]["ADMIN"], "{ partnerships(first: 10) { edges { node { id links { id } } } } }"
    )
    foreign = [
        link["id"]
        for edge in other["partnerships"]["edges"]
        for link in edge["node"]["links"]
        if edge["node"]["id"] == gid(theirs)
    ]
    assert page.request.get(f"{api_url}/portal/links/{foreign[0]}/qr.png").status == 404


def test_finance_signs_in_by_link_and_a_cross_site_post_is_refused(
    page: Any, api_url: str, db: Any, factory: Any, gql: Any
) -> None:
    from sqlalchemy import select

    from api.models import OutboxMail
    from tests.test_finance import entry

    w, other = factory.world(), factory.world()
    entry(db, w, 5_000)
    entry(db, other, 7_000)
    email, _password = factory.user(w["org"], "FINANCE")
    page.goto(f"{api_url}/signin")
    page.fill("#link-email", email)
    page.click("form[action='/signin/email'] button")
    page.wait_for_selector("text=Check your mail")
    db.expire_all()
    mail = db.scalar(select(OutboxMail).where(OutboxMail.recipient == email))
    link = re.search(r"http://\S+/signin/link\?token=\S+", mail.body).group(0)
    page.goto(link)
    check_page(page, "signin-link")
    with page.expect_navigation():
        page.click("form[action='/signin/link'] button")
    assert page.url == f"{api_url}/", page.content()
    check_page(page, "home")

    page.goto(f"{api_url}/finance")
    page.fill("#currency", "EUR")
    with page.expect_navigation():
        page.click("form[action='/finance/batches'] button")
    assert "/finance/batches/" in page.url, page.inner_text("main")
    assert "DRAFT" in page.inner_text("h1")
    check_page(page, "finance-batch")
    page.goto(f"{api_url}/finance")
    check_page(page, "finance")
    # another organization's batch: 404
    theirs = gql.mutate(
        other["keys"]["FINANCE"],
        "createPayoutBatch",
        {"currency": "EUR", "asOf": date.today().isoformat()},
        "payoutBatch { id }",
    )["payoutBatch"]["id"]
    response = page.goto(f"{api_url}/finance/batches/{theirs}")
    assert response.status == 404
    check_page(page, "not-found")

    # a form on another site posting to ours: refused, and nothing is done
    page.route(
        "http://evil.example/",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<form method="post" action="{api_url}/finance/batches">'
            f'<input name="currency" value="EUR"><input name="asOf" value="{date.today()}">'
            '<input name="csrf" value="guess"><button>go</button></form>',
        ),
    )
    page.goto("http://evil.example/")
    with page.expect_navigation() as navigation:
        page.click("button")
    assert navigation.value.status == 403
    batches = gql(w["keys"]["FINANCE"], "{ payoutBatches(first: 10) { totalCount } }")
    assert batches["payoutBatches"]["totalCount"] == 1

    page.goto(f"{api_url}/reset")
    check_page(page, "reset")
    # an invitation's page, where the invited person chooses a password
    invited = f"new.{secrets.token_hex(3)}@example.com"
    gql.mutate(
        w["keys"]["ADMIN"], "inviteUser", {"email": invited, "role": "MANAGER"}, "user { id }"
    )
    db.expire_all()
    mail = db.scalar(select(OutboxMail).where(OutboxMail.recipient == invited))
    token = re.search(r"/accept\?token=(\S+)", mail.body).group(1)
    page.goto(f"{api_url}/accept?token={token}")
    check_page(page, "accept")
    # sign out, and in as an ADMIN: the people page
    page.goto(f"{api_url}/")
    page.click("header form.signout button")
    page.wait_for_url(re.compile(r"/signin\?notice=signed-out"))
    assert page.goto(f"{api_url}/finance").url.startswith(f"{api_url}/signin")
    admin, admin_password = factory.user(w["org"], "ADMIN")
    sign_in(page, api_url, admin, admin_password)
    page.goto(f"{api_url}/people")
    assert invited in page.inner_text("main")
    check_page(page, "people")


REPORT_SERIES = """query($id: ID!, $from: DateTime!, $to: DateTime!) {
  node(id: $id) { ... on Campaign {
    brand { timeZone }
    performanceSeries(from: $from, to: $to, granularity: DAY) {
      start end clicks uniqueClicks conversions revenue { amount currency }
      cost { amount currency } commission { amount currency } }
    leaderboard(from: $from, to: $to, metric: REVENUE, first: 10) {
      influencer { id } performance { clicks } } } } }"""


def test_a_manager_reads_a_campaign_report(
    page: Any, api_url: str, db: Any, factory: Any, gql: Any
) -> None:
    import base64
    import json
    import re as regex
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from tests.test_analytics import _world

    w = _world(factory, db)
    factory.deliverable(w["partnership"])
    campaign = gid(w["campaign"])
    email, password = factory.user(w["org"], "MANAGER")
    sign_in(page, api_url, email, password)
    page.goto(f"{api_url}/campaigns")
    with page.expect_navigation():
        page.click(f"a[href='/campaigns/{campaign}/report']")
    page.fill("#from", "2026-10-20")
    page.fill("#to", "2026-10-31")
    with page.expect_navigation():
        page.click("form.period button")
    assert "from=2026-10-20" in page.url

    zone = ZoneInfo(
        gql(w["keys"]["MANAGER"], "{ brands(first: 1) { nodes { timeZone } } }")["brands"]["nodes"][
            0
        ]["timeZone"]
    )
    start = datetime.combine(date(2026, 10, 20), time(), zone)
    end = datetime.combine(date(2026, 11, 1), time(), zone)
    api = gql(
        w["keys"]["MANAGER"],
        REPORT_SERIES,
        id=campaign,
        **{"from": start.isoformat(), "to": end.isoformat()},
    )["node"]
    series = api["performanceSeries"]
    assert sum(b["clicks"] for b in series) == 36 and len(series) == 12
    # the page's points are the API's series, and the chart's SVG plots them
    assert json.loads(page.inner_text("#series-data")) == series
    svg = base64.b64decode(page.get_attribute("#chart-counts", "src").split(",", 1)[1]).decode()
    plotted = regex.findall(r'<desc class="value">([^<]*)</desc>', svg)
    clicks = [str(b["clicks"]) for b in series]
    conversions = [str(b["conversions"]) for b in series]
    assert plotted == clicks + conversions
    # the leaderboard in the API's order
    shown = page.eval_on_selector_all(
        "#leaderboard tbody tr", "rows => rows.map(r => r.dataset.influencer)"
    )
    assert shown == [e["influencer"]["id"] for e in api["leaderboard"]] and len(shown) == 2
    # and its figures (clicks: the third column) are each entry's performance
    cells = page.eval_on_selector_all(
        "#leaderboard tbody tr td:nth-child(3)", "cells => cells.map(c => c.textContent.trim())"
    )
    assert cells == [str(e["performance"]["clicks"]) for e in api["leaderboard"]]
    assert "€" in page.inner_text("#totals")
    assert "Launch post" in page.inner_text("#posts") and "AWAITING CONTENT" in page.inner_text(
        "#posts"
    )
    check_page(page, "report")
    page.goto(f"{api_url}/campaigns")
    check_page(page, "campaigns")


@pytest.fixture
def embedding_sites() -> Iterator[list[str]]:
    """Two sites of their own (http://localhost:<port>: another site than 127.0.0.1, and on
    loopback, so the browser's local-network rules let them frame us), each serving a page
    that frames the URL in its query (`/?src=...`)."""
    import html
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            src = parse_qs(urlsplit(self.path).query).get("src", [""])[0]
            body = (
                '<!doctype html><html lang="en"><title>A shop</title><h1>Our creators</h1>'
                f'<iframe title="portal" src="{html.escape(src)}" width="900" height="700">'
                "</iframe>"
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://localhost:{server.server_address[1]}" for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_portal_signs_in_inside_a_brands_iframe(
    browser: Any, api_url: str, db: Any, factory: Any, embedding_sites: list[str]
) -> None:
    """Embedded in a site its brand lists, the portal's sign-in works inside the frame: the
    cookies are SameSite=None and Partitioned (a Lax cookie is never sent to a frame of
    another site), kept in the embedding site's jar only; a site no brand lists is refused."""
    shop, other = embedding_sites
    w = factory.world()
    w["brand"].portal_origins = [shop]
    db.commit()
    email, password = factory.user(w["org"], "INFLUENCER", w["influencer"])
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None)
    try:
        page.goto(f"{shop}/?src={api_url}/portal")
        frame = page.frame_locator("iframe")
        frame.locator("#email").fill(email)
        frame.locator("#password").fill(password)
        frame.locator("form[action='/signin'] button").click()
        page.frames[1].wait_for_url(f"{api_url}/portal")
        assert w["influencer"].name in frame.locator("h1").inner_text()
        session = next(c for c in context.cookies(api_url) if c["name"] == "vouch_session")
        assert session["sameSite"] == "None" and session["secure"] and session["httpOnly"]
        if "partitionKey" in session:  # Playwright reports it from 1.54
            assert session["partitionKey"].startswith("http://localhost")
        assert refusals == []

        # the same browser on our own site is not signed in: the frame's cookie is the shop's
        page.goto(f"{api_url}/portal")
        assert "/signin" in page.url

        # a site no brand lists cannot frame even the sign-in page
        page.goto(f"{other}/?src={api_url}/portal")
        page.wait_for_timeout(1000)
        assert any("frame-ancestors" in text for text in refusals), refusals
        assert page.frame_locator("iframe").locator("#email").count() == 0
    finally:
        context.close()
