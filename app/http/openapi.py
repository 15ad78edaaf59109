"""GET /openapi.json: the OpenAPI 3 document of both API flavours, kept in app/openapi.json.

tests/unit/test_openapi_document.py checks that the document names exactly the routes the app
registers.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

PATH = "/openapi.json"
_DOCUMENT = web.AppKey("openapi_document", bytes)


def document_bytes() -> bytes:
    return resources.files("app").joinpath("openapi.json").read_bytes()


async def openapi(request: web.Request) -> web.Response:
    """No credentials needed: integrators and tools read it before they have any."""
    return web.Response(
        body=request.app[_DOCUMENT],
        content_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


def setup(app: web.Application) -> None:
    app[_DOCUMENT] = document_bytes()
    app.router.add_get(PATH, openapi)
