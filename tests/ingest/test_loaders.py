from __future__ import annotations

import io
import json
import os
import tracemalloc
from pathlib import Path

import pytest

from ingest.loaders import decode_text, load_document, read_source
from rag.errors import CorruptFileError, DecodeError, EmptyDocumentError, FileTooLargeError, IngestError, UnsupportedFileError

MB = 1024 * 1024
ZH = "比特币交易客服是指专门为比特币及其他加密货币交易提供支持和服务的客服团队。"
ZH_TRAD = "比特幣交易客服是指專門為比特幣及其他加密貨幣交易提供支持和服務的客服團隊。"


def load(path: Path, **kw: object) -> object:
    return load_document(path, max_bytes=kw.pop("max_bytes", 25 * MB), **kw)  # type: ignore[arg-type]


# -- text encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", ZH + " English too."),
        ("utf-8-sig", ZH),
        ("gbk", ZH),
        ("gb18030", ZH + "㐀"),  # a character GBK lacks
        ("big5", ZH_TRAD),
        ("utf-16", ZH),
    ],
)
def test_text_files_decode_in_each_supported_encoding(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode(encoding))
    document = load(path)
    assert document.text == text  # the BOM is not part of the text
    assert document.kind == "text"


def test_crlf_newlines_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_bytes("# 标题\r\n正文。\r\n".encode())
    assert load(path).text == "# 标题\n正文。\n"


def test_binary_renamed_txt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(DecodeError, match=r"image\.txt: binary data"):
        load(path)


def test_undecodable_text_names_the_file_and_encodings(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"valid start \xff\xfe\xfd\x80\x81 and \xc3\x28 more" * 3)
    with pytest.raises(DecodeError, match=r"bad\.txt: cannot decode as UTF-8 .*GBK/GB18030 or Big5"):
        load(path)


@pytest.mark.parametrize("content", [b"", b"   \n\t\n"])
def test_empty_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(EmptyDocumentError, match=r"empty\.txt: (empty file|file contains only whitespace)"):
        load(path)


def test_decode_prefers_gbk_for_simplified_and_big5_for_traditional() -> None:
    assert decode_text(ZH.encode("gbk"), "x")[1] == "gb18030"
    assert decode_text(ZH_TRAD.encode("big5"), "x")[1] == "big5"


# -- size, missing, permissions, unsupported ----------------------------------------------


def test_a_50mb_file_is_refused_quickly_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:  # sparse: costs no disk
        fh.truncate(50 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(FileTooLargeError, match=r"huge\.txt: 50\.0 MB is over the size limit of 25 MB"):
            read_source(path, max_bytes=25 * MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 * MB, f"refusing a large file allocated {peak} bytes"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        load(tmp_path / "nope.txt")
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(IngestError, match="is a directory"):
        load(tmp_path / "dir.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file; tests/test_cli.py covers this as an unprivileged user")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("secret")
    path.chmod(0)
    with pytest.raises(IngestError, match="permission denied"):
        load(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnsupportedFileError, match=r"table\.xlsx: unsupported file type '\.xlsx'"):
        load(path)


# -- HTML ---------------------------------------------------------------------------------


def test_html_keeps_text_and_headings_and_drops_scripts(tmp_path: Path) -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style><script>var x='不要';</script></head>"
        "<body><h2>常见问题</h2><p>比特币&amp;客服 <b>很好</b>。</p><ul><li>第一</li><li>第二</li></ul></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    text = load(path).text
    assert text.splitlines() == ["## 常见问题", "", "比特币&客服 很好。", "", "第一", "", "第二"]
    assert "不要" not in text and "p{}" not in text


def test_html_meta_charset_gbk(tmp_path: Path) -> None:
    path = tmp_path / "gbk.htm"
    path.write_bytes(f'<html><head><meta charset="gbk"></head><body><p>{ZH}</p></body></html>'.encode("gbk"))
    assert load(path).text == ZH


# -- PDF ----------------------------------------------------------------------------------


def make_pdf(pages: list[list[str]], encrypt_user_password: str | None = None) -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    encrypt = None
    if encrypt_user_password is not None:
        encrypt = pdfencrypt.StandardEncryption(encrypt_user_password, ownerPassword="owner")
    c = canvas.Canvas(buf, encrypt=encrypt)
    for lines in pages:
        c.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            c.drawString(72, 720 - 20 * i, line)
        if not lines:
            c.rect(72, 72, 300, 500, fill=1)  # a "scan": marks on the page, no text layer
        c.showPage()
    c.save()
    return buf.getvalue()


def test_pdf_text_and_pages(tmp_path: Path) -> None:
    path = tmp_path / "faq.pdf"
    path.write_bytes(make_pdf([["1. 什么是比特币交易客服?", ZH], ["Second page in English."]]))
    document = load(path)
    assert "什么是比特币交易客服?" in document.text and "Second page in English." in document.text
    second = document.text.index("Second page")
    assert document.page_at(0) == 1 and document.page_at(second) == 2
    assert document.kind == "pdf"


def test_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    path = tmp_path / "restricted.pdf"
    path.write_bytes(make_pdf([["Readable despite encryption."]], encrypt_user_password=""))
    assert "Readable despite encryption." in load(path).text


def test_password_protected_pdf(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(make_pdf([["secret"]], encrypt_user_password="secret"))
    with pytest.raises(CorruptFileError, match=r"locked\.pdf: password-protected PDF"):
        load(path)


def test_scanned_pdf_without_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[], []]))
    with pytest.raises(EmptyDocumentError, match=r"scan\.pdf: PDF has no text layer \(2 pages; .*OCR"):
        load(path)


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage garbage\n%%EOF", b"not a pdf at all", b"%PDF-1.7\n" + bytes(range(256)) * 20],
)
def test_corrupt_pdf(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=r"broken\.pdf: (corrupt or unreadable PDF|not a PDF file)"):
        load(path)


def test_truncated_pdf(tmp_path: Path) -> None:
    data = make_pdf([["Some text here."]])
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"truncated\.pdf: "):
        load(path)


# -- DOCX ---------------------------------------------------------------------------------


def test_docx_paragraphs_headings_and_tables(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("常见问题", level=1)
    d.add_paragraph(ZH)
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "平台"
    table.rows[0].cells[1].text = "Coinbase"
    path = tmp_path / "faq.docx"
    d.save(str(path))
    assert load(path).text == f"# 常见问题\n\n{ZH}\n\n平台 | Coinbase"


@pytest.mark.parametrize("content", [b"PK\x03\x04 truncated zip", b"plain text pretending", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100])
def test_corrupt_docx(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(content)
    with pytest.raises(CorruptFileError, match=r"broken\.docx: "):
        load(path)


# -- JSON / JSONL ---------------------------------------------------------------------------


def test_jsonl_records_become_sections_that_chunks_cannot_cross(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    rows = [{"text": "第一条。"}, {"other": 1}, {"text": "Second."}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    document = load(path)
    assert document.text == "第一条。\n\nSecond."
    assert document.breaks == (len("第一条。") + 2,)


def test_json_custom_text_field(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps([{"body": "A."}, {"body": "B."}]), encoding="utf-8")
    assert load(path, text_field="body").text == "A.\n\nB."
    with pytest.raises(EmptyDocumentError, match="no record has a non-empty text field 'text'"):
        load(path)


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": broken\n', encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"bad\.jsonl: line 2 is not valid JSON"):
        load(path)
