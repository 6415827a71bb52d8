"""The one way Vouch renders a PDF (contracts, self-billing invoices): `fpdf2`, deterministic.

The same document gives the same bytes, so its SHA-256 can be recorded when it is signed and
checked later: the creation date is the document's own timestamp (never "now"), and nothing
random goes in. The PDF core fonts cover Latin-1 only; any other character is transliterated
(`text_unidecode`, which sepaxml brings) rather than dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

from fpdf import FPDF
from text_unidecode import unidecode

WIDTH = 180  # mm of text on an A4 page with 15 mm margins


def latin1(text: str) -> str:
    """`text` as the core fonts can print it."""
    return "".join(c if ord(c) < 256 else unidecode(c) for c in text)


class Document:
    """A plain, one-column A4 document: a title, headed sections and key/value rows."""

    def __init__(self, title: str, created: datetime) -> None:
        pdf = FPDF(format="A4")
        pdf.set_compression(False)  # small documents, whose text a test (or a person) can grep
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=15)
        pdf.set_creation_date(
            created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
        )
        pdf.set_title(latin1(title))
        pdf.set_producer("Vouch")
        pdf.set_creator("Vouch")
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(WIDTH, 9, latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        self.pdf = pdf

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font("Helvetica", "B", 12)
        self.pdf.multi_cell(WIDTH, 7, latin1(text), new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str) -> None:
        self.pdf.set_font("Helvetica", "", 10)
        self.pdf.multi_cell(WIDTH, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")

    def rows(self, pairs: Iterable[tuple[str, str]]) -> None:
        for key, value in pairs:
            self.pdf.set_font("Helvetica", "B", 10)
            self.pdf.cell(60, 6, latin1(key))
            self.pdf.set_font("Helvetica", "", 10)
            self.pdf.multi_cell(WIDTH - 60, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")

    def bytes(self) -> bytes:
        return bytes(self.pdf.output())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
