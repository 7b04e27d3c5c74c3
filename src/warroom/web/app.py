"""`create_app(settings)`: the FastAPI application with the API, pages and error mapping."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, SQLAlchemyError

from warroom import __version__
from warroom.core import registry
from warroom.core.config import Settings, load_settings, prepare_database_dir
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, StorageUnavailable, WarroomError
from warroom.core.worker import Scheduler
from warroom.web import errors, forms, guard
from warroom.web.deps import templates
from warroom.web.limits import Limits, LimitsMiddleware
from warroom.web.security import AccessMiddleware


def create_app(
    settings: Settings | None = None, *, database: Database | None = None, serving: bool = False
) -> FastAPI:
    """The web application over one database.

    `serving`: a long-lived server process (`warroom serve`, `from_environment`): once started,
    everything built so far (some 200,000 objects: modules, templates, the app) is moved out of
    the garbage collector's full passes, which otherwise stop a request for 100+ ms every few
    dozen requests. Tests that build many apps leave it off (frozen objects are never freed).
    """
    settings = settings or load_settings()
    areas = registry.active()
    areas.check()  # a misspelled area reference fails here, at start-up, not on first use

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = Scheduler(app.state.db, settings, areas.jobs())
        scheduler.start()
        app.state.scheduler = scheduler
        if serving:
            gc.freeze()
        try:
            yield
        finally:
            scheduler.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="warroom",
        version=__version__,
        description="Incident response desk: declare, command, record, contain, verify, learn.",
        docs_url="/docs",
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    if database is None:
        prepare_database_dir(settings)
        database = Database(settings.database_url)
    app.state.db = database

    @app.exception_handler(WarroomError)
    async def warroom_error(request: Request, exc: WarroomError) -> Response:
        return errors.render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            problems.append({"field": ".".join(loc) or "body", "message": err.get("msg", "")})
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        if errors.wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"message": detail}, status_code=422
            )
        return JSONResponse(
            {"error": "InvalidInput", "detail": detail, "problems": problems}, status_code=422
        )

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> Response:
        # A number or time beyond what Python or the database can hold (an id of 2**63, the
        # year 1 with a positive UTC offset) is bad input, not a server fault.
        detail = f"a value is out of range ({exc}): use a smaller number or a real date"
        if errors.wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"message": detail}, status_code=422
            )
        return JSONResponse({"error": "InvalidInput", "detail": detail}, status_code=422)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> Response:
        # A backstop: bodies are checked for depth before parsing (warroom.web.limits).
        return errors.render(
            request, InvalidInput("the input is nested too deeply to read", field="body")
        )

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # A value the database refuses (out of range, too long, not encodable): bad input.
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else "a value"
        return errors.render(request, InvalidInput(f"the database refused {detail[:200]}"))

    @app.get("/healthz", include_in_schema=False, dependencies=[guard.PUBLIC])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers (the database is /readyz's business)."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", include_in_schema=False, dependencies=[guard.PUBLIC])
    def readyz() -> Response:
        """Readiness: 503 while the database cannot be reached."""
        try:
            with app.state.db.read() as conn:
                conn.execute(sa.text("SELECT 1"))
        except (StorageUnavailable, SQLAlchemyError) as exc:
            return JSONResponse(
                {"status": "unavailable", "detail": str(exc)[:300]}, status_code=503
            )
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/favicon.ico", include_in_schema=False, dependencies=[guard.PUBLIC])
    def favicon() -> Response:
        return HTMLResponse(status_code=204)

    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in areas.routers():
        app.include_router(router)
    guard.seal(app)  # every route declares who may call it, or the app does not start
    app.add_middleware(AccessMiddleware)
    app.add_middleware(forms.FlashMiddleware)
    app.add_middleware(LimitsMiddleware, limits=Limits.from_settings(settings))  # outermost
    return app


def from_environment() -> FastAPI:
    """The app from WARROOM_DATABASE_URL and WARROOM_CONFIG: what each of `warroom serve
    --workers N`'s worker processes (and any ASGI server: `uvicorn --factory
    warroom.web.app:from_environment`) builds for itself."""
    return create_app(load_settings(), serving=True)
