"""The app factory: `uvicorn api.main:app`, or `allocator serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from allocator import __version__
from allocator.report import STATIC
from allocator.store.db import make_engine, make_sessions, prepare
from api import pages
from api.body_limit import BodyLimit
from api.docs import add_docs
from api.error_docs import allowed_methods, document_errors
from api.errors import answer, from_http, install_error_handlers, invalid_request
from api.openapi import serve_document
from api.pages.auth import LoginRequired, Refused, refused_page
from api.pages.render import error_page
from api.routers import campaign, imports, point, registry, rounds, sponsor
from api.routers import cases as cases_router
from api.routers import decisions as decisions_router
from api.routers import followup as followup_router
from api.routers import households as households_router
from api.routers import notices as notices_router
from api.routers import sponsor_sheet as sponsor_sheet_router
from api.security import SecurityHeaders
from api.settings import Settings
from api.token_gate import TokenGate
from api.worker import InProcessWorker


def create_app(settings: Settings | None = None) -> FastAPI:
    """A fresh app on its own database; nothing is opened until it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = settings or Settings.from_env()
        engine = make_engine(chosen.database_url)
        prepare(engine)
        app.state.sessions = make_sessions(engine)
        app.state.limits = chosen.upload_limits()
        app.state.office = chosen.office
        worker = InProcessWorker(app.state.sessions) if chosen.run_worker else None
        if worker is not None:
            worker.start()
        yield
        if worker is not None:
            worker.stop()
        engine.dispose()

    # /docs is served from this server (`api.docs`); ReDoc would load from a CDN.
    app = FastAPI(title="Smartphone allocation — Ho Chi Minh City", version=__version__,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(TokenGate)  # no API body is read for a caller without a live token
    app.add_middleware(BodyLimit)  # inside the headers, so a 413 carries them too
    app.add_middleware(SecurityHeaders)
    for router in (imports.router, registry.router, rounds.router, campaign.router,
                   sponsor.router, point.router, notices_router.router, cases_router.router,
                   followup_router.router, decisions_router.router):
        app.include_router(document_errors(router), prefix="/api")
    app.include_router(document_errors(sponsor_sheet_router.router), prefix="/api")
    app.include_router(document_errors(households_router.router), prefix="/api")

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_docs(app)

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    serve_document(app)
    _page_errors(app)
    install_error_handlers(app, _is_api)
    return app


def _page_errors(app: FastAPI) -> None:
    """The API answers errors in JSON; the pages answer them with a page a person can read."""

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(error.next_path, safe='')}",
                                status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> Response:
        return refused_page(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        if _is_api(request):
            return invalid_request(error)
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                          for e in error.errors()[:5])
        return error_page(request, 422, f"Yêu cầu không hợp lệ / invalid request ({where})")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code < 400:
            return await http_exception_handler(request, error)
        if _is_api(request):
            made = from_http(error)
            if error.status_code == 405:  # every method the path has, not the first route's
                allow = allowed_methods(app, request.url.path)
                if allow:
                    made.headers = {**(made.headers or {}), "Allow": allow}
            return answer(made)
        return error_page(request, error.status_code, str(error.detail))


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/docs", "/redoc", "/openapi")) or path == "/api"


app = create_app()
