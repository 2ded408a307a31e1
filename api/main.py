"""The app factory: `uvicorn api.main:app`, or `allocator serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from allocator import __version__
from allocator.store.db import make_engine, make_sessions, prepare
from api.routers import imports, registry, rounds, sponsor
from api.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """A fresh app on its own database; nothing is opened until it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chosen = settings or Settings.from_env()
        engine = make_engine(chosen.database_url)
        prepare(engine)
        app.state.sessions = make_sessions(engine)
        app.state.executor = ThreadPoolExecutor(max_workers=chosen.solver_workers)
        app.state.progress = {}
        yield
        app.state.executor.shutdown(wait=True)
        engine.dispose()

    app = FastAPI(title="Smartphone allocation — Ho Chi Minh City", version=__version__,
                  lifespan=lifespan)
    app.include_router(imports.router)
    app.include_router(registry.router)
    app.include_router(rounds.router)
    app.include_router(sponsor.router)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


app = create_app()
