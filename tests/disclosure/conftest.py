from __future__ import annotations

from collections.abc import Callable

import pytest

from api.domain.disclosure import DisclosureInput, JurisdictionResult, check


@pytest.fixture
def run() -> Callable[..., JurisdictionResult]:
    """Check a caption for one jurisdiction: run("#ad hi", "US", connection="GIFTED")."""

    def _run(caption: str, jurisdiction: str, **kw: object) -> JurisdictionResult:
        kw.setdefault("platform", "INSTAGRAM")
        kw.setdefault("format", "POST")
        report = check(DisclosureInput(caption=caption, jurisdictions=(jurisdiction,), **kw))  # type: ignore[arg-type]
        return report.result(jurisdiction)

    return _run
