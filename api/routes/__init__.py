"""The routes, one module per area: ``service`` (the page, /docs, /health, /ready and the static
files), ``query`` (/v1/query), ``documents`` (/v1/documents) and ``openai`` (/v1/models,
/v1/chat/completions). Each builds an ``APIRouter`` (from the settings where limits apply) that
``api.app.create_app`` includes."""

__all__: list[str] = []
