"""The document routes: ``/v1/documents`` (list, upload and ingest), a source's stored text, and
removing a source; uploads are checked against the settings' size limits as they are staged."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import ERRORS, KEYED, PipelineDep
from api.errors import ApiError
from api.schemas import DeleteOut, DocumentList, DocumentText, ErrorResponse, UploadOut
from api.state import document_dict, safe_filename
from rag.errors import NotReadyError
from rag.settings import Settings

__all__ = ["documents_router"]


def documents_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/documents", response_model=DocumentList, tags=["documents"], summary="List the indexed sources", dependencies=KEYED, responses=ERRORS)
    def list_documents(p: PipelineDep) -> dict[str, Any]:
        try:
            snapshot = p.snapshot()
        except NotReadyError:
            return {"documents": [], "index_version": None}
        names = p.names()
        return {"documents": [document_dict(s, names) for s in snapshot.sources()], "index_version": snapshot.version}

    @router.get("/v1/documents/{document_id}/text", response_model=DocumentText, tags=["documents"],
                summary="A source's stored text (citation offsets index into it)", dependencies=KEYED, responses=ERRORS | {404: {"model": ErrorResponse}})
    def document_text(document_id: str, p: PipelineDep) -> dict[str, Any]:
        snapshot = p.snapshot()
        record = next((s for s in snapshot.sources() if s.source_id == document_id), None)
        if record is None:
            raise ApiError(404, f"no document with id {document_id!r}", "not_found_error")
        return {"id": record.source_id, "name": Path(record.path).name, "source": p.names().show(record.path), "text": snapshot.source_text(document_id)}

    @router.delete("/v1/documents/{document_id}", response_model=DeleteOut, tags=["documents"], summary="Remove a source from the index",
                   dependencies=KEYED, responses=ERRORS | {404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
    def delete_document(document_id: str, p: PipelineDep) -> dict[str, Any]:
        try:
            return p.delete(document_id)
        except KeyError:
            raise ApiError(404, f"no document with id {document_id!r}", "not_found_error") from None

    @router.post("/v1/documents", response_model=UploadOut, status_code=201, tags=["documents"],
                 summary="Upload and ingest files (txt, md, html, pdf, docx, json, jsonl)", dependencies=KEYED,
                 responses=ERRORS | {r: {"model": ErrorResponse} for r in (400, 409, 413, 415)})
    async def upload(files: Annotated[list[UploadFile], File(description="One or more files.")], p: PipelineDep, http: Request) -> Any:
        from ingest.loaders import SUPPORTED_SUFFIXES

        if not files:
            raise ApiError(422, "no files: send one or more as multipart field 'files'")
        names: list[str] = []
        for f in files:
            name = safe_filename(f.filename)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
                raise ApiError(415, f"{name}: unsupported kind of file '{suffix or '(no extension)'}'; supported: {kinds}")
            if f.size is not None and f.size > settings.max_file_bytes:
                raise ApiError(413, f"{name}: {f.size / 1048576:.1f} MB is over the limit of {settings.max_file_mb:g} MB (setting max_file_mb)")
            if name in names:  # never a silent replace of one by the other
                raise ApiError(409, f"{f.filename!r} and {files[names.index(name)].filename!r} are both stored as {name!r}: rename one")
            if name != f.filename and (p.uploads / name).exists():  # another name, reduced onto an earlier upload's
                raise ApiError(
                    409, f"{f.filename!r} would be stored as {name!r}, an earlier upload of another name: upload it as {name!r} to replace that one, or rename it"
                )
            names.append(name)
        staging = await run_in_threadpool(p.staging_dir)
        try:
            staged = [(name, await run_in_threadpool(_stage, f, staging / name, settings)) for name, f in zip(names, files)]
            result = await run_in_threadpool(p.ingest_uploads, staged)
        finally:
            await run_in_threadpool(p.discard, staging)
        metrics = http.app.state.metrics
        metrics.ingested_files.labels("ingested").inc(len(result.documents))
        metrics.ingested_files.labels("skipped").inc(len(result.skipped))
        metrics.ingested_chunks.inc(sum(int(d.get("chunks", 0)) for d in result.documents))
        body = {"documents": result.documents, "skipped": result.skipped, "index_version": result.index_version, "seconds": result.seconds}
        if not result.documents:
            reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in result.skipped)
            raise ApiError(422, f"nothing ingested: {reasons}", details=result.skipped)
        return body

    return router


def _stage(upload: UploadFile, target: Path, settings: Settings) -> Path:
    """Copy an uploaded file (already spooled by the multipart parser) to ``target``, within the size limit."""
    name = target.name
    try:
        with target.open("wb") as out:
            upload.file.seek(0)
            while block := upload.file.read(1 << 20):
                out.write(block)
                if out.tell() > settings.max_file_bytes:
                    raise ApiError(413, f"{name}: over the limit of {settings.max_file_mb:g} MB (setting max_file_mb)")
    except OSError as exc:
        raise ApiError(400, f"{name}: cannot store this file name here ({exc.strerror or exc}): rename it") from exc
    return target
