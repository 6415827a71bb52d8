"""The campaign report (MANAGER, FINANCE and ADMIN users): a period's totals, its series as
server-rendered SVG charts (pygal), the leaderboard, breakdowns by platform and country, each
influencer's posts with their latest metrics and disclosure status, and the series as CSV. One
GraphQL operation (`REPORT`) feeds both the page and the CSV, so they show what the API answers.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pygal
from babel.dates import format_date, format_datetime
from babel.numbers import format_percent
from pygal.style import Style
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.accounts.keys import Viewer
from api.finance import csvsafe
from api.models.enums import Role
from api.pages import formatting
from api.pages.client import GraphQLFailed, execute
from api.pages.render import not_found, page_viewer, render

READERS = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE})
DEFAULT_DAYS = 90
GRANULARITIES = ("HOUR", "DAY", "WEEK", "MONTH")
# The leaderboard's metrics (`LeaderboardMetric`), as the picker names them.
RANKINGS = {
    "REVENUE": "revenue",
    "CONVERSIONS": "conversions",
    "CLICKS": "clicks",
    "ROI": "ROI",
    "ENGAGEMENT_RATE": "engagement rate",
    "CPE": "cost per engagement (lowest first)",
}
MONEY = "amount currency"
FIGURES = f"clicks uniqueClicks conversions revenue {{ {MONEY} }} cost {{ {MONEY} }}"

CAMPAIGNS = """
query Campaigns {
  campaigns(first: 100) { edges { node { id name status startsAt endsAt brand { name } } } }
}
"""
HEAD = """
query ReportHead($id: ID!) {
  node(id: $id) { ... on Campaign { id brand { timeZone locale } } }
}
"""
REPORT = f"""
query Report(
  $id: ID!, $from: DateTime!, $to: DateTime!, $granularity: Granularity!,
  $metric: LeaderboardMetric!
) {{
  node(id: $id) {{
    ... on Campaign {{
      id name status currency
      brand {{ name locale timeZone defaultCurrency }}
      performance(from: $from, to: $to) {{ {FIGURES} commission {{ {MONEY} }} roi }}
      performanceSeries(from: $from, to: $to, granularity: $granularity) {{
        start end {FIGURES} commission {{ {MONEY} }}
      }}
      leaderboard(from: $from, to: $to, metric: $metric, first: 10) {{
        rank influencer {{ id name }} performance {{ {FIGURES} roi }}
      }}
      byPlatform: performanceBreakdown(from: $from, to: $to, by: PLATFORM) {{
        key label performance {{ clicks conversions revenue {{ {MONEY} }} }}
      }}
      byCountry: performanceBreakdown(from: $from, to: $to, by: COUNTRY) {{
        key label performance {{ clicks conversions revenue {{ {MONEY} }} }}
      }}
      partnerships {{
        id influencer {{ name }}
        deliverables {{
          id title platform status publishedUrl publishedAt disclosureOverrideReason
          latestSubmission {{ disclosureVerdict }}
          metrics {{ capturedAt impressions engagements engagementRate }}
        }}
      }}
    }}
  }}
}}
"""
CSV_HEADER = (
    "start",
    "end",
    "clicks",
    "unique_clicks",
    "conversions",
    "revenue",
    "commission",
    "cost",
    "currency",
)


@dataclass(frozen=True)
class Period:
    first: date  # the first day shown, in the brand's zone
    last: date  # the last day shown (inclusive)
    granularity: str
    ranking: str = "REVENUE"  # the leaderboard's metric

    def variables(self, zone: Any) -> dict[str, str]:
        start = datetime.combine(self.first, time(), zone)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone)
        return {"from": start.isoformat(), "to": end.isoformat()}

    def query(self) -> str:
        return (
            f"from={self.first}&to={self.last}&granularity={self.granularity}&rank={self.ranking}"
        )


def period_of(params: Any, today: date) -> tuple[Period, str | None]:
    """The picked period, or the default (the last 90 days by DAY) and why the pick was not
    usable."""
    default = Period(today - timedelta(days=DEFAULT_DAYS - 1), today, "DAY")
    granularity = params.get("granularity") or "DAY"
    if granularity not in GRANULARITIES:
        return default, "Choose an hour, day, week or month."
    ranking = params.get("rank") or "REVENUE"
    if ranking not in RANKINGS:
        return default, "Rank the influencers by one of the metrics offered."
    try:
        first = date.fromisoformat(params["from"]) if params.get("from") else default.first
        last = date.fromisoformat(params["to"]) if params.get("to") else default.last
    except ValueError:
        return default, "Dates are written YYYY-MM-DD."
    if first > last:
        return default, "The first day must not be after the last."
    return Period(first, last, granularity, ranking), None


async def _reader(request: Request) -> Viewer | Response:
    return await page_viewer(request, lambda viewer: viewer.role in READERS)


async def campaigns(request: Request) -> Response:
    viewer = await _reader(request)
    if not isinstance(viewer, Viewer):
        return viewer
    data = await run_in_threadpool(lambda: execute(viewer, CAMPAIGNS))
    rows = [e["node"] for e in data["campaigns"]["edges"]]
    return render(request, "campaigns.html", viewer=viewer, campaigns=rows)


def load(
    viewer: Viewer, campaign_id: str, params: Any
) -> tuple[dict[str, Any], Period, str | None] | None:
    """The report's data for the picked period (the default one, with the reason, when the
    API refuses the pick); None when the campaign is not the viewer's organization's.
    Blocking: call it in a worker thread."""
    try:
        head = execute(viewer, HEAD, id=campaign_id).get("node")
    except GraphQLFailed:  # not a global id at all
        return None
    if not head or "brand" not in head:
        return None
    zone = formatting.time_zone(head["brand"])
    period, error = period_of(params, datetime.now(zone).date())
    try:
        data = _report(viewer, campaign_id, period, zone)
    except GraphQLFailed as exc:  # e.g. more than 1000 buckets
        error = "; ".join(getattr(e, "message", str(e)) for e in exc.errors)
        period, _ = period_of({}, datetime.now(zone).date())
        data = _report(viewer, campaign_id, period, zone)
    return data, period, error


def _report(viewer: Viewer, campaign_id: str, period: Period, zone: Any) -> dict[str, Any]:
    node: dict[str, Any] = execute(
        viewer,
        REPORT,
        id=campaign_id,
        granularity=period.granularity,
        metric=period.ranking,
        **period.variables(zone),
    )["node"]
    return node


def _label(start: str, granularity: str, locale: str, zone: Any) -> str:
    moment = datetime.fromisoformat(start).astimezone(zone)
    if granularity == "HOUR":
        return format_datetime(moment, "short", tzinfo=zone, locale=locale)
    if granularity == "MONTH":
        return format_date(moment.date(), "MMM y", locale=locale)
    return format_date(moment.date(), "medium", locale=locale)


STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#d5dae1",
    colors=("#0b57d0", "#b3261e"),
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
)


def chart(labels: list[str], series: list[tuple[str, list[float], bool]]) -> str:
    """An SVG line chart made by pygal, as a data: URL (an <img> of its own document: its
    styles need no exception to the page's Content-Security-Policy, and it runs no script)."""
    line = pygal.Line(
        style=STYLE,
        js=[],
        width=900,
        height=320,
        show_minor_x_labels=False,
        x_labels_major_count=6,
        show_minor_y_labels=False,
        y_labels_major_count=6,
        truncate_label=-1,
        legend_at_bottom=True,
        dots_size=2,
        margin=16,
        margin_right=48,  # the last day's label is centred on the right edge
    )
    line.x_labels = labels
    for title, values, secondary in series:
        line.add(title, values, secondary=secondary)
    svg = line.render(is_unicode=True).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _amount(money: dict[str, Any]) -> float:
    # a chart coordinate only: every figure shown or exported is the API's decimal string
    return float(Decimal(money["amount"]))


def _percent(ratio: str | None, locale: str) -> str:
    if ratio is None:
        return formatting.NONE
    return format_percent(Decimal(ratio), "#,##0.0%", locale=locale)


def _posts(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for partnership in data["partnerships"]:
        for d in partnership["deliverables"]:
            submission = d.get("latestSubmission") or {}
            verdict = submission.get("disclosureVerdict")
            if d.get("disclosureOverrideReason"):
                disclosure = "OVERRIDDEN"
            elif not submission:
                disclosure = "AWAITING CONTENT"
            else:
                disclosure = verdict or "UNCHECKED"
            rows.append(
                {
                    **d,
                    "influencer": (partnership.get("influencer") or {}).get("name", ""),
                    "disclosure": disclosure,
                }
            )
    return rows


async def report(request: Request) -> Response:
    viewer = await _reader(request)
    if not isinstance(viewer, Viewer):
        return viewer
    campaign_id = request.path_params["id"]
    loaded = await run_in_threadpool(load, viewer, campaign_id, request.query_params)
    if loaded is None:
        return not_found(request, viewer)
    data, period, error = loaded
    brand = data["brand"]
    locale, zone = formatting.locale_of(brand), formatting.time_zone(brand)
    series = data["performanceSeries"]
    labels = [_label(b["start"], period.granularity, locale, zone) for b in series]
    currency = data["performance"]["revenue"]["currency"]
    charts = {
        "counts": chart(
            labels,
            [
                ("Clicks", [b["clicks"] for b in series], False),
                ("Conversions", [b["conversions"] for b in series], False),
            ],
        ),
        "money": chart(
            labels,
            [
                (f"Revenue ({currency})", [_amount(b["revenue"]) for b in series], False),
                (f"Cost ({currency})", [_amount(b["cost"]) for b in series], False),
            ],
        ),
    }
    return render(
        request,
        "report.html",
        viewer=viewer,
        brand=brand,
        status=422 if error else 200,
        campaign=data,
        period=period,
        granularities=GRANULARITIES,
        rankings=RANKINGS,
        error=error,
        series=series,
        labels=labels,
        charts=charts,
        posts=_posts(data),
        series_json=json.dumps(series),
        zone_name=brand.get("timeZone") or "UTC",
        roi=_percent(data["performance"]["roi"], locale),
    )


async def report_csv(request: Request) -> Response:
    """The series on screen for the same period, one row per bucket (times in the brand's
    zone), cells neutralised by `csvsafe`."""
    viewer = await _reader(request)
    if not isinstance(viewer, Viewer):
        return viewer
    campaign_id = request.path_params["id"]
    loaded = await run_in_threadpool(load, viewer, campaign_id, request.query_params)
    if loaded is None:
        return not_found(request, viewer)
    data, period, _error = loaded
    zone = formatting.time_zone(data["brand"])
    lines = [csvsafe.line(CSV_HEADER)]
    for b in data["performanceSeries"]:
        lines.append(
            csvsafe.line(
                (
                    datetime.fromisoformat(b["start"]).astimezone(zone).isoformat(),
                    datetime.fromisoformat(b["end"]).astimezone(zone).isoformat(),
                    b["clicks"],
                    b["uniqueClicks"],
                    b["conversions"],
                    b["revenue"]["amount"],
                    b["commission"]["amount"],
                    b["cost"]["amount"],
                    b["revenue"]["currency"],
                )
            )
        )
    name = f"report-{period.first}-{period.last}-{period.granularity.lower()}.csv"
    return Response(
        "".join(lines),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
