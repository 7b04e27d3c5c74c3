"""Request dependencies shared by the API and the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.templating import Jinja2Templates

from warroom.core.clock import ago
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.web.identity import ANONYMOUS

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Jinja2Templates autoescapes .html templates (select_autoescape).
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["ago"] = ago  # `when(dt)` in _macros.html: "3m ago", "2h05m ago"


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_actor(
    request: Request,
    x_warroom_user: Annotated[
        str | None, Header(description="Who is acting (only while no account exists).")
    ] = None,
) -> str:
    """The acting identity resolved by the access middleware (an account or API token).

    In loopback mode (no account exists) that is the X-Warroom-User header, else the name the
    desk asked for (its cookie), else `anonymous`: never the server's OS user.
    """
    identity = getattr(request.state, "identity", None)
    if identity is not None:
        return str(identity.name)
    return (x_warroom_user or "").strip() or ANONYMOUS


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[str, Depends(get_actor)]
