"""A malformed `Vouch-Signature` is the brand's mistake: a 401 naming the header, logged below
ERROR, nothing recorded. (A 400-digit timestamp was a 503 "retry" with a traceback at ERROR.)"""

from __future__ import annotations

import json
import logging
import time

import pytest

from tests.postbacks.test_postbacks import BRAND, ORDER, SECRET, brand, stream  # noqa: F401
from tracker.postbacks import brand_global_id, parse_signature, sign

RAW = json.dumps(ORDER).encode()


def _v1(t: int | str) -> str:
    return sign(SECRET, int(t), RAW) if str(t).isdigit() else "0" * 64


@pytest.mark.parametrize(
    "header",
    # {now}: the time of the request (a fixed id at collection, as pytest-xdist needs)
    [
        "t=" + "9" * 400 + ",v1=" + "0" * 64,  # beyond any clock, beyond a float
        "t=" + "9" * 13 + ",v1=" + "0" * 64,
        "t=-{now},v1=" + "0" * 64,
        "t=+{now},v1=" + "0" * 64,
        "t=1e9,v1=" + "0" * 64,
        "t=,v1=" + "0" * 64,
        "t=abc,v1=" + "0" * 64,
        "t={now},t={now},v1=" + "0" * 64,  # which one?
        "t={now},v1=xyz",  # not hex
        "t={now},v1=" + "0" * 63,
        "t={now},v1=",
        "t={now}",
        ",".join(["t={now}"] + ["v1=" + "0" * 64] * 9),
    ],
)
def test_a_malformed_signature_header_is_401(brand, rds, prefix, caplog, header):  # noqa: F811
    with caplog.at_level(logging.INFO):
        header = header.replace("{now}", str(int(time.time())))
        response = brand.post("/v1/conversions", RAW, headers={"vouch-signature": header})
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "Vouch-Signature: expected t=<unix seconds>,v1=<hex HMAC-SHA256>",
        "field": "Vouch-Signature",
    }
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert stream(rds, prefix) == []  # nothing recorded


def test_a_non_ascii_signature_is_401_not_a_crash(brand, caplog):  # noqa: F811
    t = int(time.time())
    header = f"t={t},v1={'é' * 64}".encode("latin-1")
    with caplog.at_level(logging.INFO):
        response = brand.client.post(
            "/v1/conversions",
            content=RAW,
            headers=[
                (b"content-type", b"application/json"),
                (b"vouch-brand", brand_global_id(BRAND).encode()),
                (b"vouch-signature", header),
            ],
        )
    assert response.status_code == 401, response.text
    assert response.json()["field"] == "Vouch-Signature"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x660 + d) for d in range(10)))


@pytest.mark.parametrize(
    "t",
    [
        "1796410444".translate(ARABIC_INDIC),  # int() reads these as 1796410444
        "\u00b2",  # a superscript two: isdigit() but not int()
        "9" * 5000,  # more digits than int() converts
    ],
)
def test_parse_signature_takes_ascii_digits_only(t):
    with pytest.raises(ValueError, match="expected t=<unix seconds>"):
        parse_signature(f"t={t},v1=" + "0" * 64)


def test_parse_signature_takes_what_brands_send():
    t = int(time.time())
    upper = _v1(t).upper()
    assert parse_signature(f"t={t},v1={_v1(t)}") == (t, [_v1(t)])
    assert parse_signature(f" t={t} , v1={upper} ,v1={'a' * 64}") == (t, [_v1(t), "a" * 64])
    assert parse_signature(f"t={t},v0=old,v1={_v1(t)}") == (t, [_v1(t)])  # unknown parts skipped
