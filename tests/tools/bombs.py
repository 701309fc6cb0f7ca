"""Hostile files built at run time (nothing large is committed): decompression bombs in a PDF
and in DOCX packages, each about a megabyte on disk."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

MB = 1 << 20
_ZEROS = b"\0" * MB

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_DOCUMENT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="{target}"/></Relationships>'
)
_DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>提现一般需要一个工作日。</w:t></w:r></w:p></w:body></w:document>"
)


def docx_bomb(path: Path, *, member: str = "word/media/image1.png", inflated_mb: int = 1024) -> Path:
    """A .docx whose ``member`` inflates to ``inflated_mb`` MB of zeros (``word/document.xml``: the text part itself)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _RELS)
        if member != "word/document.xml":
            package.writestr("word/document.xml", _DOCUMENT)
            # the member is a part of the document (python-docx loads every related part)
            package.writestr("word/_rels/document.xml.rels", _DOCUMENT_RELS.format(target=member.removeprefix("word/")))
        with package.open(member, "w", force_zip64=True) as out:
            for _ in range(inflated_mb):
                out.write(_ZEROS)
    path.write_bytes(buffer.getvalue())
    return path


def pdf_bomb(path: Path, *, inflated_mb: int = 500) -> Path:
    """A one-page PDF whose font's /ToUnicode map is ``inflated_mb`` MB of zeros behind /FlateDecode."""
    squeeze = zlib.compressobj(9)
    stream = b"".join(squeeze.compress(_ZEROS) for _ in range(inflated_mb)) + squeeze.flush()
    text = b"BT /F1 12 Tf 72 712 Td (Withdrawals take one day.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        # the font's character map: what text extraction must inflate
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    path.write_bytes(_pdf(objects))
    return path


def pdf_page_cycle(path: Path) -> Path:
    """A PDF whose page tree holds itself: pypdf stops with LimitReachedError."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    path.write_bytes(_pdf(objects))
    return path


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
