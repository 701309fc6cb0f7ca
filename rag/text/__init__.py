"""Text as Chinese and English are written: sentences (:mod:`~rag.text.sentences`), keyword
tokens (:mod:`~rag.text.tokenize`), content and question terms (:mod:`~rag.text.terms`), and
language and script (:mod:`~rag.text.language`)."""
