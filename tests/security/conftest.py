"""The all-in-one app in-process (every service's routes, SQLite, the embedded queue) and one
credential per role."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest
from fastapi import FastAPI

from shared.auth.principal import Role, create_credential
from shared.settings import Settings

SITE = "53.71.04"
CITY_WIDE = {"admin", "dinas_operator", "adjudicator"}
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers: the documented routes and the others (the console,
    /metrics, the OpenAPI pages), path converters dropped ("{number:path}" is "{number}")."""
    try:
        from fastapi.routing import iter_route_contexts  # included routers are kept whole (FastAPI 0.16x)
        listed = list(iter_route_contexts(app.routes))
    except ImportError:
        listed = list(app.routes)
    return {(method, _CONVERTER.sub(r"{\1}", route.path))
            for route in listed for method in (getattr(route, "methods", None) or ()) if method != "HEAD"}


@pytest.fixture
async def app_and_tokens(tmp_path):
    from ektp.allinone import create_app
    from shared.migrate import upgrade

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", env="test", data_dir=tmp_path)
    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        tokens: dict[str, str] = {}
        ids: dict[str, uuid.UUID] = {}
        async with app.state.platform.sessions() as session:
            for role in Role:
                credential, token = await create_credential(
                    session, name=f"test {role.value}", role=role, site="53.71" if role.value in CITY_WIDE else SITE)
                tokens[role.value], ids[role.value] = token, credential.id
            await session.commit()
        yield app, tokens, ids
