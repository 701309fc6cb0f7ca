"""api: the FastAPI service and the OpenAI-compatible endpoint.

``create_app`` (api.app) builds the FastAPI application over a ``Pipeline`` (api.state) whose
objects the composition root builds (``rag serve``, with ``rag.cli.factory.Factory``).
"""

__all__: list[str] = []
