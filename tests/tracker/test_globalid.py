"""The one global-id codec: strawberry's encoding, and only that exact text decodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strawberry import relay

from tracker import globalid


@given(st.sampled_from(["Brand", "Influencer", "LedgerEntry"]), st.integers(1, 2**63 - 1))
def test_encode_is_strawberrys_and_round_trips(type_name: str, pk: int) -> None:
    value = globalid.encode(type_name, pk)
    assert value == str(relay.GlobalID(type_name, str(pk)))
    assert globalid.decode(value) == (type_name, pk)
    unpadded = value.rstrip("=")
    assert globalid.decode(unpadded) == (None if unpadded != value else (type_name, pk))
    assert globalid.decode(f" {value}") is None
    assert globalid.decode_pk(value, type_name) == pk
    assert globalid.decode_pk(value, "Campaign") is None  # another type


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "!!!",
        "Brand:1",  # not encoded
        globalid.encode("Brand", 0),
        globalid.encode("Brand", 2**63),
        "QnJhbmQ6LTE=",  # Brand:-1
        "QnJhbmQ6",  # Brand:
        "OjE=",  # :1
        "QnJhbmQ6MWE=",  # Brand:1a
        "QnJhbmQ677yR",  # Brand: and a full-width digit one
        "A" * 300,
        "QnJhbmQ6MR==",  # Brand:1 spelt with unused bits set
        "QnJhbmQ6IDE=",  # Brand: 1
        "QnJhbmQ6MDE=",  # Brand:01
        "QnJhbmQ6KzE=",  # Brand:+1
        "QnJhbmQ6MSA=",  # Brand:1 and a space
        "QnJhbmQ62aE=",  # Brand: and an Arabic-Indic digit one
        "QnJhbmQ6MQ",  # padding dropped
        "Rm9vLUJhcjox",  # not a GraphQL type name
        None,
        12,
    ],
)
def test_decode_refuses_what_is_not_a_global_id(bad: object) -> None:
    assert globalid.decode(bad) is None
    assert globalid.decode_pk(bad, "Brand") is None
