"""Bulk influencer import: column aliases, per-line report, dry run, atomicity, skipInvalid,
the size cap and unknown columns, through the plain module, GraphQL and `vouch import`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.cli import main
from api.imports import influencers as importer
from api.imports.csvfile import CsvError
from api.models import AudienceSnapshot, Influencer, InfluencerFacet, SocialAccount
from api.settings import reset_settings

MODASH = (
    "Username,Platform,Full Name,Followers,ER,Country,Language,Category,Email,"
    "Audience Country 1,Audience Country 1 Share,Audience Country 2,Audience Country 2 %,"
    "Audience Age 18-24,Audience Age 25-34,Audience Age 35-44,Audience Female,Audience Male,"
    "Fake Followers %,Lookalikes\n"
    "@maya.styles,instagram,Maya Styles,120K,3.5%,FR,fr,Beauty;Fashion,maya@example.com,"
    "FR,62.5,BE,10,40,45,15,80,20,12.5,whatever\n"
    'leo_runs,TikTok,Léo,"48,000",6.1,DE,de,fitness,,DE,70%,,,,,,,,,\n'
)
BAD = MODASH + "ghost,MYSPACE,Ghost,10,1,FR,fr,x,,,,,,,,,,,,\n"


def _count(db, model, org):
    return db.scalar(select(func.count()).select_from(model).where(model.organization_id == org.id))


def _run(db, org, data, **kw):
    kw.setdefault("max_bytes", 10 << 20)
    return importer.import_influencers(db, org.id, data, **kw)


def test_a_modash_export_creates_then_updates_and_skips(factory, db):
    org = factory.org()
    report = _run(db, org, MODASH)
    assert report.committed and report.unknown_columns == ["Lookalikes"]
    assert [(r.line, r.status) for r in report.lines] == [
        (2, importer.Status.CREATED),
        (3, importer.Status.CREATED),
    ]
    maya = db.scalar(select(SocialAccount).where(SocialAccount.handle_key == "maya.styles"))
    assert (maya.platform, maya.followers, maya.avg_likes) == ("INSTAGRAM", 120_000, 4_200)
    person = db.get(Influencer, maya.influencer_id)
    assert (person.name, person.country, person.niches) == (
        "Maya Styles",
        "FR",
        ["beauty", "fashion"],
    )
    assert person.engagement_rate == 3.5
    snapshot = db.scalar(
        select(AudienceSnapshot).where(AudienceSnapshot.social_account_id == maya.id)
    )
    assert snapshot.countries == [["FR", 6_250], ["BE", 1_000]]
    assert snapshot.fake_share == 1_250 and str(maya.suspicious_audience_pct) == "12.50"
    facets = {
        (f.kind, f.key)
        for f in db.scalars(
            select(InfluencerFacet).where(InfluencerFacet.influencer_id == person.id)
        )
    }
    assert {("NICHE", "beauty"), ("LANGUAGE", "fr"), ("COUNTRY", "FR"), ("AGE", "25-34")} <= facets

    again = _run(db, org, MODASH.replace("120K", "130K"))
    assert [r.status for r in again.lines] == [importer.Status.UPDATED, importer.Status.UPDATED]
    same = _run(db, org, "handle,platform,followers\nmaya.styles,INSTAGRAM,130000\n")
    assert [r.status for r in same.lines] == [importer.Status.SKIPPED]
    assert _count(db, Influencer, org) == 2


def test_a_dry_run_and_a_failed_line_change_nothing_unless_skip_invalid(factory, db):
    org = factory.org()
    dry = _run(db, org, MODASH, dry_run=True)
    assert dry.count(importer.Status.CREATED) == 2 and not dry.committed
    assert _count(db, Influencer, org) == 0 and _count(db, AudienceSnapshot, org) == 0

    failed = _run(db, org, BAD)
    assert not failed.committed
    error = failed.lines[-1]
    assert error.status is importer.Status.ERROR and error.line == 4
    assert error.errors[0].column == "Platform" and "MYSPACE" in error.errors[0].message
    assert _count(db, Influencer, org) == 0  # nothing half-imported

    partial = _run(db, org, BAD, skip_invalid=True)
    assert partial.committed and partial.count(importer.Status.CREATED) == 2
    assert _count(db, Influencer, org) == 2


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ("maya,INSTAGRAM,-5,,,", "followers", "zero or more"),
        ("maya,INSTAGRAM,10,XX,5,", "audience_country_1", "not an ISO 3166-1"),
        ("maya,INSTAGRAM,10,FR,120,", "audience_country_1_share", "0 to 100"),
        ("maya,INSTAGRAM,10,,,2999-01-01", "captured_at", "in the future"),
        (",INSTAGRAM,10,,,", "handle", "required"),
    ],
)
def test_bad_values_name_their_column(factory, db, line, column, words):
    header = "handle,platform,followers,audience_country_1,audience_country_1_share,captured_at\n"
    report = _run(db, factory.org(), header + line + "\n")
    error = report.lines[0].errors[0]
    assert (error.column, words in error.message) == (column, True), error


def test_the_same_account_twice_and_the_size_cap(factory, db):
    org = factory.org()
    twice = _run(db, org, "handle,platform\nmaya,INSTAGRAM\n@Maya,instagram\n")
    assert twice.lines[1].errors[0].message == "the same account as line 2"
    with pytest.raises(CsvError, match=r"the file is 50,000,016 bytes: the limit is 10,485,760"):
        _run(db, org, b"handle,platform\n" + b"x" * 50_000_000)
    with pytest.raises(CsvError, match="no header line"):
        _run(db, org, "")


MUTATION = """mutation($input: ImportInfluencersInput!) { importInfluencers(input: $input) {
  report { dryRun committed created updated skipped failed unknownColumns
    lines { line status handle influencerId errors { column message } } }
  userErrors { field message code } } }"""


def test_import_influencers_over_graphql(gql, factory, db, monkeypatch):
    org = factory.org()
    key = factory.key(org, "MANAGER")
    dry = gql(key, MUTATION, input={"csv": BAD, "dryRun": True})["importInfluencers"]["report"]
    assert (dry["created"], dry["failed"], dry["committed"]) == (2, 1, False)
    assert dry["unknownColumns"] == ["Lookalikes"]
    failed = gql(key, MUTATION, input={"csv": BAD})["importInfluencers"]["report"]
    assert not failed["committed"] and failed["lines"][2]["errors"][0]["column"] == "Platform"
    ok = gql(key, MUTATION, input={"csv": BAD, "skipInvalid": True})["importInfluencers"]
    assert ok["report"]["committed"] and ok["report"]["lines"][0]["influencerId"]
    assert _count(db, Influencer, org) == 2
    finance = gql(factory.key(org, "FINANCE"), MUTATION, input={"csv": MODASH})
    assert finance["importInfluencers"]["userErrors"][0]["code"] == "FORBIDDEN"
    monkeypatch.setenv("IMPORT_MAX_BYTES", "100")
    reset_settings()
    try:
        big = gql(key, MUTATION, input={"csv": MODASH})["importInfluencers"]
    finally:
        monkeypatch.delenv("IMPORT_MAX_BYTES")
        reset_settings()
    assert big["report"] is None
    assert big["userErrors"][0]["field"] == "csv" and big["userErrors"][0]["code"] == "TOO_LARGE"


def test_vouch_import_influencers(factory, db, tmp_path, capsys):
    org = factory.org()
    path = tmp_path / "modash.csv"
    path.write_text(BAD)
    assert main(["import", "influencers", str(path), "--org", str(org.id), "--dry-run"]) == 1
    out = capsys.readouterr()
    assert "line 4: Platform: 'MYSPACE' is not one of" in out.out
    assert "ignored columns: Lookalikes" in out.out and "dry run: nothing imported" in out.out
    assert "100% lines 3/3" in out.err  # the progress line
    assert main(["import", "influencers", str(path), "--org", org.name, "--skip-invalid"]) == 1
    assert "2 created, 0 updated, 0 skipped, 1 error: imported" in capsys.readouterr().out
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:
        fh.truncate(50_000_000)  # sparse: refused by its size, never read
    assert main(["import", "influencers", str(huge), "--org", str(org.id)]) == 2
    assert "the file is 50,000,000 bytes: the limit is 10,485,760" in capsys.readouterr().err
