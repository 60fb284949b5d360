"""A PDF's text, read back with pypdf, for checking every figure it shows."""

import io
import re

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeeze(text: str) -> str:
    """Without whitespace: a hash wrapped over two lines reads as one."""
    return re.sub(r"\s", "", text)


def assert_shows(text: str, *figures: str) -> None:
    flat = squeeze(text)
    missing = [f for f in figures if squeeze(f) not in flat]
    assert not missing, f"not in the PDF: {missing}"
