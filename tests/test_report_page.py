"""The campaign report page without a browser: another organization's campaign and an
INFLUENCER user are 404s; the CSV is the same series the API answers for the period."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

from tests.factories import gid
from tests.test_analytics import _world
from tests.test_people import browser, sign_in

SERIES = """query($id: ID!, $from: DateTime!, $to: DateTime!) {
  node(id: $id) { ... on Campaign { performanceSeries(from: $from, to: $to, granularity: DAY) {
    start clicks conversions revenue { amount } cost { amount } } } } }"""


def test_the_report_is_a_404_for_others_and_its_csv_is_the_api_series(
    factory: Any, gql: Any, db: Any
) -> None:
    w, other = _world(factory, db), factory.world()
    campaign = gid(w["campaign"])
    email, password = factory.user(w["org"], "MANAGER")
    client = browser()
    assert sign_in(client, email, password).status_code == 303

    listing = client.get("/campaigns")
    assert listing.status_code == 200 and f"/campaigns/{campaign}/report" in listing.text
    page = client.get(f"/campaigns/{campaign}/report")
    assert page.status_code == 200, page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get(f"/campaigns/{gid(other['campaign'])}/report").status_code == 404
    assert client.get(f"/campaigns/{gid(other['campaign'])}/report.csv").status_code == 404
    assert client.get("/campaigns/not-an-id/report").status_code == 404
    bad = client.get(f"/campaigns/{campaign}/report?from=2026-02-30")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    # the leaderboard is ranked by the metric picked, in the API's order
    window = "from=2026-10-20&to=2026-10-31"
    by_clicks = client.get(f"/campaigns/{campaign}/report?{window}&rank=CLICKS")
    assert by_clicks.status_code == 200 and "Leaderboard by clicks" in by_clicks.text
    ranked = gql(
        w["keys"]["MANAGER"],
        """query($id: ID!) { node(id: $id) { ... on Campaign { leaderboard(
          from: "2026-10-20T00:00:00Z", to: "2026-11-01T00:00:00Z", metric: CLICKS, first: 10)
          { influencer { id } performance { clicks } } } } }""",
        id=campaign,
    )["node"]["leaderboard"]
    order = [e["influencer"]["id"] for e in ranked]
    assert len(order) == 2
    positions = [by_clicks.text.index(f'data-influencer="{i}"') for i in order]
    assert positions == sorted(positions)
    # each entry's figures are its `performance`'s: its row shows its clicks
    for entry in ranked:
        row = re.search(f'data-influencer="{entry["influencer"]["id"]}".*?</tr>', by_clicks.text)
        assert row and f'<td class="num">{entry["performance"]["clicks"]}</td>' in row.group(0)
    assert [e["performance"]["clicks"] for e in ranked] == [30, 6]
    unknown = client.get(f"/campaigns/{campaign}/report?rank=FOLLOWERS")
    assert unknown.status_code == 422 and "metrics offered" in unknown.text

    first, last = date(2026, 10, 20), date(2026, 10, 26)
    answer = client.get(f"/campaigns/{campaign}/report.csv?from={first}&to={last}&granularity=DAY")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    # the world's brand is in UTC: the period's days are UTC days
    api = gql(
        w["keys"]["MANAGER"],
        SERIES,
        id=campaign,
        **{"from": f"{first}T00:00:00+00:00", "to": f"{last + timedelta(days=1)}T00:00:00+00:00"},
    )["node"]["performanceSeries"]
    assert len(rows) == len(api) == 7
    assert sum(b["clicks"] for b in api) == 36
    assert [(r["clicks"], r["revenue"], r["cost"]) for r in rows] == [
        (str(b["clicks"]), b["revenue"]["amount"], b["cost"]["amount"]) for b in api
    ]

    influencer_email, influencer_password = factory.user(w["org"], "INFLUENCER", w["influencer"])
    theirs = browser()
    assert sign_in(theirs, influencer_email, influencer_password).status_code == 303
    assert theirs.get(f"/campaigns/{campaign}/report").status_code == 404
    assert theirs.get(f"/campaigns/{campaign}/report.csv").status_code == 404
    assert theirs.get("/campaigns").status_code == 404
