"""The formats shared with the API and the ingest worker."""

from __future__ import annotations

import json
import time

import pytest

from tracker.events import (
    FIELDS,
    KIND_CLICK,
    KIND_ORPHAN,
    ClickEvent,
    LinkRecord,
    Utm,
    id_timestamp_ms,
    link_head,
    new_id,
    pack,
    valid_code,
)


def test_link_record_round_trips_through_json() -> None:
    record = LinkRecord(
        link_id=1,
        partnership_id=2,
        campaign_id=3,
        brand_id=4,
        organization_id=5,
        code="Spring_24-x",
        destination="https://shop.example.com/?a=1",
        utm=Utm(source="ig", medium=None, campaign="spring", content=None),
        active=False,
    )
    data = json.loads(record.to_json())
    assert data == {
        "link_id": 1,
        "partnership_id": 2,
        "campaign_id": 3,
        "brand_id": 4,
        "organization_id": 5,
        "code": "Spring_24-x",
        "destination": "https://shop.example.com/?a=1",
        "utm": {"source": "ig", "medium": None, "campaign": "spring", "content": None},
        "active": False,
    }
    assert LinkRecord.from_json(record.to_json()) == record
    assert LinkRecord.from_json(record.to_json().encode()) == record


@pytest.mark.parametrize(
    "change",
    [
        {"link_id": "1"},
        {"link_id": True},
        {"code": "a/b"},
        {"code": "x" * 65},
        {"code": ""},
        {"active": "yes"},
        {"utm": {"source": 5}},
        {"utm": {"source": "a\nb"}},
        {"utm": "ig"},
    ],
)
def test_link_record_from_json_rejects_bad_fields(change: dict[str, object]) -> None:
    data = json.loads(LinkRecord(1, 2, 3, 4, 5, "abc", "https://x.example/").to_json())
    data.update(change)
    with pytest.raises(ValueError):
        LinkRecord.from_json(json.dumps(data))


def test_link_record_from_json_rejects_missing_fields_and_garbage() -> None:
    with pytest.raises(ValueError):
        LinkRecord.from_json('{"code": "abc"}')
    with pytest.raises(ValueError):
        LinkRecord.from_json("[1, 2]")
    with pytest.raises(ValueError):
        LinkRecord.from_json("not json")


def test_codes() -> None:
    assert valid_code("abc") and valid_code("A-b_9") and valid_code("x" * 64)
    for bad in ["", "x" * 65, "a.b", "a/b", "/evil", "a b", "é", "a%2F", "a\r\nb"]:
        assert not valid_code(bad), bad


def _click() -> ClickEvent:
    return ClickEvent(
        kind=KIND_CLICK,
        event_id=new_id(),
        click_id=new_id(),
        code="abc",
        ts=1_700_000_000_123,
        ip="203.0.113.0",
        ip_hash="ab" * 32,
        user_agent="Mozilla/5.0 Ünïcode",
        referer="https://www.instagram.com/",
        bot=False,
        unique=False,
        link_id=1,
        partnership_id=2,
        campaign_id=3,
        brand_id=4,
        organization_id=5,
    )


def test_click_event_round_trips_through_stream_fields() -> None:
    event = _click()
    fields = event.to_fields()
    assert list(fields) == list(FIELDS)
    assert fields["bot"] == "0" and fields["unique"] == "0" and fields["v"] == "1"
    assert ClickEvent.from_fields(fields) == event
    # as redis-py returns them
    raw = {k.encode(): v.encode() for k, v in fields.items()}
    assert ClickEvent.from_fields(raw) == event
    assert ClickEvent.unpack(event.pack()) == event


def test_orphan_event_has_no_link_ids() -> None:
    orphan = ClickEvent(KIND_ORPHAN, new_id(), "", "nope", 1, "", "")
    fields = orphan.to_fields()
    assert fields["link_id"] == "" and fields["click_id"] == ""
    assert ClickEvent.from_fields(fields) == orphan


def test_link_head_is_the_start_of_a_packed_click() -> None:
    event = _click()
    record = LinkRecord(1, 2, 3, 4, 5, "abc", "https://x.example/")
    assert event.pack().startswith(link_head(record) + "\x1f")


def test_from_fields_rejects_unknown_versions_kinds_and_missing_fields() -> None:
    fields = _click().to_fields()
    with pytest.raises(ValueError):
        ClickEvent.from_fields({**fields, "v": "2"})
    with pytest.raises(ValueError):
        ClickEvent.from_fields({**fields, "kind": "view"})
    del fields["ts"]
    with pytest.raises(ValueError):
        ClickEvent.from_fields(fields)
    with pytest.raises(ValueError):
        ClickEvent.unpack(pack(["1", "click"]))


def test_ids_are_unique_time_sortable_crockford() -> None:
    now = int(time.time() * 1000)
    ids = [new_id(now + i // 10) for i in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 26 and set(i) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for i in ids)
    # sorted by time: the time part of later ids is never smaller
    assert [i[:10] for i in ids] == sorted(i[:10] for i in ids)
    assert id_timestamp_ms(ids[0]) == now
    assert id_timestamp_ms(new_id()) >= now


def test_the_country_is_optional_and_only_a_country() -> None:
    from tracker.events import KIND_CLICK, country_of_header, new_id

    event = ClickEvent(KIND_CLICK, new_id(), new_id(), "spring24", 1, "10.0.0.0", "h", country="DE")
    assert ClickEvent.from_fields(event.to_fields()) == event
    assert ClickEvent.unpack(event.pack()) == event
    # an entry written before the field existed
    old = {k: v for k, v in event.to_fields().items() if k != "country"}
    assert ClickEvent.from_fields(old).country == ""
    assert [country_of_header(v) for v in ("de", " GB ", "XX", "T1", "DEU", "", None)] == [
        "DE", "GB", "", "", "", "", "",
    ]  # fmt: skip
