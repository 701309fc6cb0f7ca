"""Loaders: one function per file type, each turning bytes into a :class:`Document`.

Every loader either returns a document with non-empty text or raises an
:class:`~rag.errors.IngestError` subclass whose message names the file and says what is wrong.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from ingest.isolation import extract_isolated
from ingest.limits import ParseLimits, check_zip
from rag.domain import Document, sha256_hex
from rag.errors import (
    CorruptFileError,
    DecodeError,
    EmptyDocumentError,
    FileTooLargeError,
    IngestError,
    UnsupportedFileError,
)

__all__ = ["SUPPORTED_SUFFIXES", "decode_text", "extract_document", "is_supported", "kind_of", "load_document", "load_inline", "read_source"]

_TEXT_ENCODINGS = ("utf_8", "gb18030", "big5")


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > max(8, len(sample) // 100)


def decode_text(data: bytes, path: Path | str) -> tuple[str, str]:
    """Decode text bytes: UTF-8 (with or without BOM), UTF-16 with BOM, GBK/GB18030 or Big5.

    Returns ``(text, encoding)``. Raises :class:`DecodeError` for binary data or bytes that
    are valid in none of them.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise DecodeError(path, f"invalid UTF-16 text ({exc.reason} at byte {exc.start})") from exc
    if _looks_binary(data):
        raise DecodeError(path, "binary data, not text (is the file extension right?)")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    candidates = []
    for encoding in ("gb18030", "big5"):
        try:
            candidates.append((encoding, data.decode(encoding)))
        except UnicodeDecodeError:
            continue
    if len(candidates) == 1:
        return candidates[0][1], candidates[0][0]
    if candidates:
        import charset_normalizer

        best = charset_normalizer.from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
        chosen = best.encoding if best is not None else "gb18030"
        for encoding, text in candidates:
            if encoding == chosen:
                return text, encoding
        return candidates[0][1], candidates[0][0]
    raise DecodeError(
        path,
        f"cannot decode as UTF-8 ({utf8_error.reason} at byte {utf8_error.start}), GBK/GB18030 or Big5",
    )


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_plain(path: Path, data: bytes, *, text_field: str) -> tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]:
    text, _ = decode_text(data, path)
    return _normalise_newlines(text), (), ()


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "head", "noscript", "template", "svg"}
    _BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer",
        "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "dt", "dd", "hr", "title", "main", "nav",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._in_title = False
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
            if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
                self.parts.append("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self._skip:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def _html_charset(data: bytes) -> str | None:
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", data[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii").lower() if match else None


def _load_html(path: Path, data: bytes, *, text_field: str) -> tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]:
    charset = _html_charset(data)
    markup: str | None = None
    if charset and charset not in {"utf-8", "utf8"}:
        try:
            markup = data.decode({"gbk": "gb18030", "gb2312": "gb18030"}.get(charset, charset))
        except (LookupError, UnicodeDecodeError):
            markup = None
    if markup is None:
        markup, _ = decode_text(data, path)
    parser = _HTMLText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception as exc:  # HTMLParser is lenient; this guards against the unexpected
        raise CorruptFileError(path, f"cannot parse HTML: {exc}") from exc
    lines = [re.sub(r" {2,}", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text and parser.title.strip():
        text = parser.title.strip()
    return text, (), ()


def _load_pdf(path: Path, data: bytes, *, text_field: str) -> tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PyPdfError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise CorruptFileError(path, "not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # missing crypto backend, unknown algorithm
                raise CorruptFileError(path, "password-protected PDF: cannot read it without the password") from exc
            if not opened:
                raise CorruptFileError(path, "password-protected PDF: cannot read it without the password")
        parts: list[str] = []
        pages: list[tuple[int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = _normalise_newlines(page.extract_text() or "").strip()
            if parts:
                parts.append("\n\n")
                offset += 2
            pages.append((offset, number))
            parts.append(page_text)
            offset += len(page_text)
    except IngestError:
        raise
    except FileNotDecryptedError as exc:
        raise CorruptFileError(path, "password-protected PDF: cannot read it without the password") from exc
    except LimitReachedError as exc:
        raise FileTooLargeError(path, f"a PDF stream inflates past pypdf's limits ({exc}): refused as a possible decompression bomb") from exc
    except MemoryError as exc:
        raise FileTooLargeError(path, "parsing this PDF ran out of memory") from exc
    except (PyPdfError, RecursionError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, ZeroDivisionError) as exc:
        # pypdf's whole error family, and what its parsers raise on structures they do not expect
        raise CorruptFileError(path, f"corrupt or unreadable PDF ({type(exc).__name__}: {str(exc)[:200]})") from exc
    text = "".join(parts)
    if not text.strip():
        n = len(pages)
        raise EmptyDocumentError(
            path, f"PDF has no text layer ({n} page{'s' if n != 1 else ''}; a scanned PDF needs OCR, which is not supported)"
        )
    return text, tuple(pages), ()


def _load_docx(path: Path, data: bytes, *, text_field: str) -> tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if data[:4] != b"PK\x03\x04":
        if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise CorruptFileError(path, "an encrypted or legacy (.doc) Word file, not a .docx package")
        raise CorruptFileError(path, "not a DOCX file (not a zip package)")
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CorruptFileError(path, f"corrupt DOCX ({type(exc).__name__}: {exc})") from exc
    except MemoryError as exc:
        raise FileTooLargeError(path, "parsing this DOCX ran out of memory") from exc
    except Exception as exc:  # lxml errors on damaged XML parts
        raise CorruptFileError(path, f"corrupt DOCX ({type(exc).__name__}: {str(exc)[:200]})") from exc
    blocks: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        match = re.match(r"Heading (\d)", style)
        if match:
            text = "#" * int(match.group(1)) + " " + text
        elif style == "Title":
            text = "# " + text
        blocks.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                blocks.append(" | ".join(cells))
    return "\n\n".join(blocks), (), ()


def _load_json(path: Path, data: bytes, *, text_field: str) -> tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]:
    raw, _ = decode_text(data, path)
    records: list[object] = []
    if path.suffix.lower() == ".jsonl":
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorruptFileError(path, f"line {lineno} is not valid JSON ({exc.msg})") from exc
    else:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CorruptFileError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        records = value if isinstance(value, list) else [value]
    texts: list[str] = []
    missing = 0
    for record in records:
        value = record.get(text_field) if isinstance(record, dict) else None
        if isinstance(value, str) and value.strip():
            texts.append(_normalise_newlines(value.strip()))
        else:
            missing += 1
    if not texts and records:
        raise EmptyDocumentError(path, f"no record has a non-empty text field '{text_field}' (set json_text_field)")
    breaks: list[int] = []
    offset = 0
    for text in texts[:-1]:
        offset += len(text) + 2
        breaks.append(offset)
    return "\n\n".join(texts), (), tuple(breaks)


_Loader = Callable[..., tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]]

_LOADERS: dict[str, tuple[str, _Loader]] = {
    ".txt": ("text", _load_plain),
    ".text": ("text", _load_plain),
    ".md": ("markdown", _load_plain),
    ".markdown": ("markdown", _load_plain),
    ".html": ("html", _load_html),
    ".htm": ("html", _load_html),
    ".pdf": ("pdf", _load_pdf),
    ".docx": ("docx", _load_docx),
    ".json": ("json", _load_json),
    ".jsonl": ("jsonl", _load_json),
}

SUPPORTED_SUFFIXES = frozenset(_LOADERS)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in _LOADERS


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, for a message."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_source(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file, refusing a file over ``max_bytes`` from its size alone, before
    reading it. Opened without blocking and checked on the open descriptor: a FIFO, socket or
    device (even one swapped in after discovery) is refused, never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise IngestError(path, f"{kind_of(info.st_mode)}, not a regular file: skipped")
            if info.st_size > max_bytes:
                raise FileTooLargeError(
                    path, f"{info.st_size / 1048576:.1f} MB is over the size limit of {max_bytes / 1048576:g} MB (setting max_file_mb)"
                )
            data = fh.read(max_bytes + 1)
    except IngestError:
        raise
    except FileNotFoundError as exc:
        raise IngestError(path, "no such file") from exc
    except PermissionError as exc:
        raise IngestError(path, "permission denied: cannot read the file") from exc
    except IsADirectoryError as exc:
        raise IngestError(path, "is a directory") from exc
    except OSError as exc:
        raise IngestError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise FileTooLargeError(path, f"grew over the size limit of {max_bytes / 1048576:g} MB while being read")
    return data


def load_inline(path: Path, data: bytes, *, text_field: str = "text") -> tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]:
    """The loader for ``path``'s suffix, run in this process: (text, pages, breaks)."""
    return _LOADERS[path.suffix.lower()][1](path, data, text_field=text_field)


_ISOLATED = frozenset({".pdf", ".docx"})  # binary formats whose parsers a hostile file can exhaust


def extract_document(
    path: Path, data: bytes, *, text_field: str = "text", source_path: str | None = None, limits: ParseLimits | None = None
) -> Document:
    """Extract the text of a file's bytes. ``source_path`` is the identity recorded for it (default:
    ``path``). Zip packages are checked against ``limits`` first; PDF and DOCX files are parsed in
    a subprocess with its memory and time budget when ``limits.isolate`` (see :mod:`ingest.isolation`)."""
    suffix = path.suffix.lower()
    if suffix not in _LOADERS:
        raise UnsupportedFileError(
            path, f"unsupported file type '{suffix or '(none)'}' (supported: {', '.join(sorted(_LOADERS))})"
        )
    kind = _LOADERS[suffix][0]
    if not data.strip():
        raise EmptyDocumentError(path, "empty file" if not data else "file contains only whitespace")
    limits = limits or ParseLimits(isolate=False)
    if suffix == ".docx" and data[:4] == b"PK\x03\x04":
        check_zip(path, data, limits)
    if limits.isolate and suffix in _ISOLATED:
        text, pages, breaks = extract_isolated(path, data, text_field=text_field, limits=limits)
    else:
        text, pages, breaks = load_inline(path, data, text_field=text_field)
    if not text.strip():
        raise EmptyDocumentError(path, f"no text found in this {kind} file")
    return Document(
        path=source_path or str(path),
        text=text,
        content_hash=sha256_hex(data),
        kind=kind,
        pages=pages,
        breaks=breaks,
    )


def load_document(
    path: Path, *, max_bytes: int, text_field: str = "text", source_path: str | None = None, limits: ParseLimits | None = None
) -> Document:
    """Read and extract one file (see :func:`read_source` and :func:`extract_document`)."""
    if not is_supported(path):
        return extract_document(path, b"", text_field=text_field)  # raises UnsupportedFileError
    data = read_source(path, max_bytes=max_bytes)
    return extract_document(path, data, text_field=text_field, source_path=source_path, limits=limits)
