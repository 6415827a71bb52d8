"""Input validation and the report's shape (what GraphQL callers rely on)."""

from __future__ import annotations

import json

import pytest

from api.domain.disclosure import (
    Connection,
    ContentFormat,
    DisclosureInput,
    DisclosureInputError,
    DisclosureReport,
    Jurisdiction,
    Platform,
    PlatformLabel,
    Verdict,
    check,
    load_rules,
)


def make(**kw):
    base = {"caption": "#ad hi", "platform": "INSTAGRAM", "format": "POST"}
    return DisclosureInput(**{**base, **kw})


def test_strings_are_coerced_to_enums_and_defaults_are_sensible():
    inp = make(platform="instagram", format="reel", connection="gifted", platform_label=None)
    assert inp.platform is Platform.INSTAGRAM
    assert inp.format is ContentFormat.REEL
    assert inp.connection is Connection.GIFTED
    assert inp.jurisdictions == tuple(Jurisdiction)
    assert make(platform_label="paid_partnership").platform_label is PlatformLabel.PAID_PARTNERSHIP
    assert make(platform_label="").platform_label is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("platform", "MYSPACE"),
        ("format", "CAROUSEL"),
        ("connection", "FRIEND"),
        ("platform_label", "SPONSORED"),
        ("jurisdictions", ("US", "MX")),
        ("comments", ("#ad", 3)),
        ("comments", ("x",) * 21),
        ("jurisdictions", ()),
        ("retouched", "yes"),
        ("ai_generated", 1),
        ("caption", None),
        ("caption", "x" * 100_001),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_field(field, value):
    with pytest.raises(DisclosureInputError) as info:
        make(**{field: value})
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert info.value.message


def test_error_lists_the_allowed_values():
    with pytest.raises(
        DisclosureInputError, match="US, UK, IE, DE, FR, EU, ES, IT, NL, CA, AU, BR"
    ):
        make(jurisdictions=("MX",))


def test_platform_label_must_belong_to_the_platform():
    with pytest.raises(DisclosureInputError) as info:
        check(make(platform="INSTAGRAM", platform_label="PAID_PROMOTION"))
    assert info.value.field == "platform_label"
    assert "PAID_PARTNERSHIP" in info.value.message
    with pytest.raises(DisclosureInputError):
        check(make(platform="BLOG", format="BLOG", platform_label="PAID_PARTNERSHIP"))


def test_jurisdictions_keep_their_order_without_duplicates():
    inp = make(jurisdictions=("fr", "US", "FR"))
    assert inp.jurisdictions == (Jurisdiction.FR, Jurisdiction.US)
    assert [r.jurisdiction for r in check(inp).results] == [Jurisdiction.FR, Jurisdiction.US]
    assert make(jurisdictions="DE").jurisdictions == (Jurisdiction.DE,)


def test_input_is_frozen():
    inp = make()
    with pytest.raises(AttributeError):
        inp.caption = "changed"  # type: ignore[misc]


def test_worst_verdict_orders_fail_over_review_over_pass():
    assert Verdict.worst([Verdict.PASS, Verdict.NEEDS_REVIEW]) is Verdict.NEEDS_REVIEW
    assert Verdict.worst([Verdict.NEEDS_REVIEW, Verdict.FAIL, Verdict.PASS]) is Verdict.FAIL
    assert Verdict.worst([]) is Verdict.PASS
    review = check(make(format="STORY", jurisdictions=("US", "UK")))
    assert review.worst_verdict is Verdict.NEEDS_REVIEW
    assert check(make(jurisdictions=("US",))).worst_verdict is Verdict.PASS
    assert check(make(jurisdictions=("US", "DE"))).worst_verdict is Verdict.FAIL


def test_report_round_trips_through_json():
    report = check(make(caption="Love this serum! #skincare #ad #glow #beauty"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rulesVersion"] == load_rules().version
    assert data["worstVerdict"] == "FAIL"
    assert {r["jurisdiction"] for r in data["results"]} == {j.value for j in Jurisdiction}
    finding = data["results"][0]["findings"][0]
    assert set(finding) == {"code", "message", "start", "end", "severity"}
    again = DisclosureReport.from_dict(data)
    assert again == report
    assert again.result("US") == report.result("US")


def test_result_lookup_by_string_or_enum():
    report = check(make(jurisdictions=("UK",)))
    assert report.result("uk") is report.result(Jurisdiction.UK)
    with pytest.raises(KeyError):
        report.result("US")
