"""api: the FastAPI service and the OpenAI-compatible endpoint.

Empty until the HTTP API lands (issue 6); the package exists so the layout is fixed.
"""

__all__: list[str] = []
