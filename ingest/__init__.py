"""ingest: loaders per file type, chunking, and the ingest pipeline (hash, dedupe, embed, commit)."""

from ingest.chunking import SentenceChunker, split_sentences
from ingest.loaders import load_document
from ingest.pipeline import Ingestor, IngestReport, SkippedFile

__all__ = ["Ingestor", "IngestReport", "SentenceChunker", "SkippedFile", "load_document", "split_sentences"]
