"""The rules of `api.domain.usage_rights`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.domain.usage_rights import Channel, RightsState, from_contract, state, validate

T = datetime(2026, 12, 1, tzinfo=UTC)


def test_contract_kinds_give_channels_paid_use_and_allowlisting() -> None:
    assert from_contract("NONE", 30, [], T) is None
    organic = from_contract("ORGANIC", 30, ["FR"], T)
    assert organic is not None
    assert organic.channels == (Channel.ORGANIC,) and not organic.paid_use
    assert organic.territories == ("FR",) and organic.expires_at == T + timedelta(days=30)
    white = from_contract("PAID_WHITELISTING", None, [], T)
    assert white is not None and white.paid_use and white.allowlisting
    assert white.territories == ("WORLDWIDE",) and white.expires_at is None
    full = from_contract("FULL_COMMERCIAL", 90, [], T)
    assert full is not None and set(full.channels) == set(Channel) and not full.allowlisting
    assert from_contract("ORGANIC", 30, [], None).expires_at is None  # type: ignore[union-attr]


def test_state_around_the_expiry() -> None:
    end = T + timedelta(days=30)
    assert state(None, T, 14) is RightsState.ACTIVE
    assert state(end, T, 14) is RightsState.ACTIVE
    assert state(end, end - timedelta(days=14), 14) is RightsState.EXPIRING
    assert state(end, end - timedelta(seconds=1), 14) is RightsState.EXPIRING
    assert state(end, end, 14) is RightsState.EXPIRED


def test_valid_rights_are_cleaned() -> None:
    rights, problems = validate(["ORGANIC", "PAID_SOCIAL", "ORGANIC"], True, True, ["fr", "DE"])
    assert problems == [] and rights is not None
    assert rights.channels == (Channel.ORGANIC, Channel.PAID_SOCIAL)
    assert rights.territories == ("FR", "DE")
    assert validate(["EMAIL"], False, False, ["worldwide"])[0].territories == ("WORLDWIDE",)  # type: ignore[union-attr]


def test_bad_rights_are_refused_with_their_field() -> None:
    def fields(*args: object) -> list[str | None]:
        return [p.field for p in validate(*args)[1]]  # type: ignore[arg-type]

    assert fields(["RADIO"], False, False, ["FR"]) == ["channels[0]"]
    assert fields([], False, False, ["FR"]) == ["channels"]
    assert fields(["ORGANIC"], False, True, ["FR"]) == ["allowlisting"]
    assert fields(["PAID_SOCIAL"], False, False, ["FR"]) == ["paid_use"]
    assert fields(["ORGANIC"], False, False, ["France"]) == ["territories[0]"]
    assert fields(["ORGANIC"], False, False, []) == ["territories"]
    assert fields(["ORGANIC"], False, False, ["WORLDWIDE", "FR"]) == ["territories"]
    assert fields(["ORGANIC"], False, False, ["FR"] * 101) == ["territories"]
