"""Importing post metrics from CSV (api.content.post_metrics_import), through importPostMetrics
and `vouch import post-metrics`: the column mapping, per-line report, dry run, atomicity,
skipInvalid, the size cap and unknown columns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.cli import main
from api.content import post_metrics_import as importing
from api.imports.csvfile import CsvError
from api.models import PostMetricSnapshot
from api.settings import get_settings
from tests.factories import gid

PUBLISHED = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
URL = "https://www.instagram.com/p/Cabc123/"
RESULT = (
    "result { committed created unchanged skipped errors unknownColumns "
    "lines { line status deliverableId column message code } }"
)


@pytest.fixture
def w(factory: Any) -> dict[str, Any]:
    world = factory.world()
    world["post"] = factory.deliverable(
        world["partnership"], status="PUBLISHED", published_at=PUBLISHED, published_url=URL
    )
    return world


def snapshots(db: Any, w: dict[str, Any]) -> list[tuple[datetime, int | None]]:
    db.expire_all()
    rows = db.query(PostMetricSnapshot).filter_by(organization_id=w["org"].id)
    return sorted((r.captured_at, r.likes) for r in rows)


def run(gql: Any, w: dict[str, Any], csv: str, role: str = "MANAGER", **flags: Any) -> Any:
    return gql.mutate(w["keys"][role], "importPostMetrics", {"csv": csv, **flags}, RESULT)


def good_csv(w: dict[str, Any]) -> str:
    return (
        "Deliverable ID,Post URL,Date,Impressions,Reach,Video Views,Likes,Comments,Shares,Saves,"
        "Clicks,ER\n"
        f',{URL},2026-11-01,"1,200",900,300,40,5,1,2,10,4.2\n'  # the day it went live
        f"{gid(w['post'])},,2026-11-03T12:00:00Z,5000,3000,900,150,20,4,9,33,5.1\n"
    )


def test_a_file_imports_with_common_export_names(gql, db, w):
    payload = run(gql, w, good_csv(w))
    assert payload["userErrors"] == []
    result = payload["result"]
    assert (result["created"], result["committed"], result["errors"]) == (2, True, 0)
    assert result["unknownColumns"] == ["ER"]
    assert [line["status"] for line in result["lines"]] == ["CREATED", "CREATED"]
    assert {line["deliverableId"] for line in result["lines"]} == {gid(w["post"])}
    # A date alone on the day of publication is the publication time, not midnight before it.
    assert snapshots(db, w) == [(PUBLISHED, 40), (datetime(2026, 11, 3, 12, tzinfo=UTC), 150)]
    row = db.query(PostMetricSnapshot).filter_by(deliverable_id=w["post"].id).first()
    assert (row.impressions, row.views, row.link_clicks, row.source) == (1200, 300, 10, "IMPORT")
    again = run(gql, w, good_csv(w))["result"]
    assert (again["created"], again["unchanged"]) == (0, 2)


def test_a_dry_run_reports_and_keeps_nothing(gql, db, w):
    result = run(gql, w, good_csv(w), dryRun=True)["result"]
    assert (result["created"], result["committed"]) == (2, False)
    assert snapshots(db, w) == []


def test_one_refused_line_keeps_the_whole_file_out_unless_skip_invalid(gql, db, w, factory):
    other = factory.world()
    theirs = factory.deliverable(other["partnership"], status="PUBLISHED", published_at=PUBLISHED)
    csv = good_csv(w) + (
        f",{URL},2026-11-04,6000,3100,1000,-1,,,,,\n"  # negative likes
        f"{gid(theirs)},,2026-11-04,1,1,1,1,,,,,\n"  # another organization's post
        f",{URL},2026-11-05,6000,3100,1000,12.5,,,,,\n"  # not a whole number
        f",{URL},tomorrow,6000,3100,1000,1,,,,,\n"  # not a date
        f",{URL},2026-11-06,6000,3100,1000,100,,,,,\n"  # likes back from 150 to 100
        f",{URL},2026-11-07,6000,3100,3000000000,200,,,,,\n"  # views beyond a GraphQL Int
    )
    result = run(gql, w, csv)["result"]
    assert result["committed"] is False and result["errors"] == 6
    refused = [(x["line"], x["column"], x["code"]) for x in result["lines"][2:]]
    assert refused == [
        (4, "Likes", "NEGATIVE"),
        (5, "Deliverable ID", "NOT_FOUND"),
        (6, "Likes", "INVALID"),
        (7, "Date", "INVALID"),
        (8, "Likes", "REGRESSION"),
        (9, "Video Views", "OUT_OF_RANGE"),
    ]
    assert all(x["message"] for x in result["lines"][2:])
    assert snapshots(db, w) == []
    skipping = run(gql, w, csv, skipInvalid=True)["result"]
    assert (skipping["created"], skipping["skipped"], skipping["committed"]) == (2, 6, True)
    assert len(snapshots(db, w)) == 2


def test_files_refused_as_a_whole(gql, db, w, monkeypatch):
    def refused(csv: str) -> tuple[str, str]:
        payload = run(gql, w, csv)
        assert payload["result"] is None
        [error] = payload["userErrors"]
        return error["field"], error["code"]

    assert refused("") == ("csv", "INVALID")
    assert refused("likes,comments\n1,2\n") == ("csv", "REQUIRED")
    assert refused("post_url,date,clicks,link_clicks\n") == ("csv", "DUPLICATE")
    small = dataclasses.replace(get_settings(), import_max_bytes=100)
    monkeypatch.setattr("api.graphql.post_metrics.mutations.get_settings", lambda: small)
    assert refused(good_csv(w)) == ("csv", "TOO_LARGE")
    for role in ("INFLUENCER", "FINANCE"):
        assert run(gql, w, good_csv(w), role=role)["userErrors"][0]["code"] == "FORBIDDEN"
    assert snapshots(db, w) == []


def test_a_50_mb_file_is_refused_with_a_clear_error():
    data = "post_url,date,likes\n" + "x" * (50 << 20)
    with pytest.raises(CsvError) as refused:
        importing.read(data, get_settings().import_max_bytes)
    assert refused.value.code == "TOO_LARGE"
    assert "IMPORT_MAX_BYTES" in refused.value.message


def test_the_command_line_imports_with_progress(db, w, tmp_path, capsys):
    path = tmp_path / "metrics.csv"
    path.write_text(good_csv(w))
    org = str(w["org"].id)
    assert main(["import", "post-metrics", str(path), "--org", org, "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "2 created" in out.out and "dry run" in out.out and "lines 2/2" in out.err
    assert "ignored columns: ER" in out.err
    assert snapshots(db, w) == []
    assert main(["import", "post-metrics", str(path), "--org", org]) == 0
    assert len(snapshots(db, w)) == 2
    path.write_text(f"post_url,date,likes\n{URL},{(datetime.now(UTC) + timedelta(days=2)):%F},1\n")
    assert main(["import", "post-metrics", str(path), "--org", org]) == 1
    assert "in the future" in capsys.readouterr().err
    assert main(["import", "post-metrics", str(tmp_path / "missing.csv"), "--org", org]) == 2
