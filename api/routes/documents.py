"""The document routes: ``/v1/documents`` (list, upload and ingest), a source's stored text, and
removing a source; uploads are checked against the settings' size limits as they are staged."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures.
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import ERRORS, KEYED, PipelineDep, ScopeDep
from api.errors import ApiError
from api.schemas import DeleteOut, DocumentList, DocumentText, ErrorResponse, UploadOut
from api.state import OutOfScope, document_dict, safe_filename
from rag.domain import DEFAULT_COLLECTION, check_collection
from rag.errors import NotReadyError
from rag.settings import Settings

__all__ = ["documents_router"]


def documents_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/documents", response_model=DocumentList, tags=["documents"], summary="List the indexed sources", dependencies=KEYED, responses=ERRORS)
    def list_documents(p: PipelineDep, scope: ScopeDep) -> dict[str, Any]:
        try:
            snapshot = p.snapshot(scope.read)
        except NotReadyError:
            return {"documents": [], "index_version": None}
        names = p.names(scope.read)
        return {"documents": [document_dict(s, names) for s in snapshot.sources()], "index_version": snapshot.version}

    @router.get("/v1/documents/{document_id}/text", response_model=DocumentText, tags=["documents"],
                summary="A source's stored text (citation offsets index into it)", dependencies=KEYED, responses=ERRORS | {404: {"model": ErrorResponse}})
    def document_text(document_id: str, p: PipelineDep, scope: ScopeDep) -> dict[str, Any]:
        snapshot = p.snapshot(scope.read)  # a document outside the key's collections is not there (404)
        record = next((s for s in snapshot.sources() if s.source_id == document_id), None)
        if record is None:
            raise ApiError(404, f"no document with id {document_id!r}", "not_found_error")
        return {"id": record.source_id, "name": Path(record.path).name, "source": p.names(scope.read).show(record.path), "text": snapshot.source_text(document_id)}

    @router.delete("/v1/documents/{document_id}", response_model=DeleteOut, tags=["documents"], summary="Remove a source from the index",
                   dependencies=KEYED, responses=ERRORS | {403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
    def delete_document(document_id: str, p: PipelineDep, scope: ScopeDep) -> dict[str, Any]:
        missing = ApiError(404, f"no document with id {document_id!r}", "not_found_error")
        try:
            visible = any(s.source_id == document_id for s in p.snapshot(scope.read).sources())
        except NotReadyError:
            visible = False
        if not visible:  # outside the key's collections: as if it did not exist
            raise missing
        try:
            return p.delete(document_id, scope.can_write)
        except KeyError:
            raise missing from None
        except OutOfScope as exc:
            raise ApiError(403, f"this key may not change the collection {exc.args[0]!r}", "permission_error") from None

    @router.post("/v1/documents", response_model=UploadOut, status_code=201, tags=["documents"],
                 summary="Upload and ingest files (txt, md, html, pdf, docx, json, jsonl)", dependencies=KEYED,
                 responses=ERRORS | {r: {"model": ErrorResponse} for r in (400, 403, 409, 413, 415)})
    async def upload(
        files: Annotated[list[UploadFile], File(description="One or more files.")], p: PipelineDep, scope: ScopeDep, http: Request,
        collection: Annotated[str, Form(description="The collection the files go into (the key must be allowed to write it).")] = DEFAULT_COLLECTION,
    ) -> Any:
        from ingest.loaders import SUPPORTED_SUFFIXES

        try:
            check_collection(collection)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        if not scope.can_write(collection):
            raise ApiError(403, f"this key may not upload to the collection {collection!r}", "permission_error")
        if not files:
            raise ApiError(422, "no files: send one or more as multipart field 'files'")
        folder = p.upload_folder(collection)
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
            if name != f.filename and (folder / name).exists():  # another name, reduced onto an earlier upload's
                raise ApiError(
                    409, f"{f.filename!r} would be stored as {name!r}, an earlier upload of another name: upload it as {name!r} to replace that one, or rename it"
                )
            names.append(name)
        staging = await run_in_threadpool(p.staging_dir)
        try:
            staged = [(name, await run_in_threadpool(_stage, f, staging / name, settings)) for name, f in zip(names, files)]
            result = await run_in_threadpool(p.ingest_uploads, staged, collection)
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
