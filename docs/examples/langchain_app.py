"""Using rag-cite from a LangChain app: our retriever as a BaseRetriever, and the whole checked
pipeline as a Runnable. Run it from the repository root:

    .venv/bin/python docs/examples/langchain_app.py                         # a scripted chat model
    .venv/bin/python docs/examples/langchain_app.py http://localhost:11434/v1 qwen2.5   # a real server

It ingests the bundled sample corpus into a temporary index first.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag import sample_corpus_path
from rag.cli.factory import build_ingestor
from rag.embedders import E5Embedder
from rag.langchain_adapters import ChatModelGenerator, RagRetriever, rag_chain
from rag.retrieval import HybridRetriever
from rag.settings import load_settings
from rag.store import IndexStore


def main() -> None:
    index_dir = Path(tempfile.mkdtemp()) / "index"
    embedder = E5Embedder()
    build_ingestor(load_settings(environ={}), embedder=embedder, index_dir=index_dir).ingest([sample_corpus_path()])
    snapshot = IndexStore(index_dir).open(embedder.info)
    retriever = HybridRetriever.over(snapshot, embedder)

    # 1. Our retriever in any LangChain chain: Documents with source, offsets and scores.
    documents = RagRetriever(retriever=retriever, top_k=3).invoke("客服可以解答哪些常见的技术问题?")
    for d in documents:
        print(f"{d.metadata['source'].rsplit('/', 1)[-1]}:{d.metadata['start']}-{d.metadata['end']}  {d.page_content[:40].replace(chr(10), ' ')}")

    # 2. The whole pipeline as a Runnable: every sentence of the model's reply is checked.
    if len(sys.argv) == 3:
        from langchain_openai import ChatOpenAI

        model = ChatOpenAI(base_url=sys.argv[1], model=sys.argv[2], api_key="not-needed", temperature=0)
    else:
        model = GenericFakeChatModel(messages=iter([AIMessage("其次,客服还可以解答用户在交易过程中遇到的技术问题。[1]")]))
    chain = rag_chain(retriever, ChatModelGenerator(model, unsupported="flag"), top_k=3)
    answer = chain.invoke("客服可以解答哪些常见的技术问题?")
    print(answer.text)
    for s in answer.sentences:
        print(f"  {'✓' if s.supported else '✗'} {s.text}  cites {list(s.citations)}")
    snapshot.close()


if __name__ == "__main__":
    main()
