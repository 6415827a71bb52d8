"""URL inputs of mutations: `api.domain.validation.public_url` as a user error."""

from __future__ import annotations

from api.domain import validation
from api.graphql.errors import problem
from api.settings import get_settings


def checked_url(value: str, field: str, name: str | None = None) -> str:
    """`value` if it is a public http(s) URL (private ones too with ALLOW_PRIVATE_URLS), else
    an INVALID_URL user error on `field` saying why: "landingUrl points at a private address
    (10.0.0.1)". `name` is what the message calls the value (default: the field's last part)."""
    try:
        return validation.public_url(value, allow_private=get_settings().allow_private_urls)
    except validation.UrlRefused as exc:
        name = name or field.rpartition(".")[2]
        raise problem(field, f"{name} {exc.reason}", "INVALID_URL") from None
