"""Alembic migrations, one history per component (its own schema and version table).

`ektp migrate` upgrades every component; each component's `migrations/env.py` calls `run_env`.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import SCHEMAS, create_engine, is_sqlite_url

# Order matters only for readability; no component references another's tables.
COMPONENTS: dict[str, str] = {
    "auth": "shared.auth",
    "enrollment": "services.enrollment",
    "dedup": "services.dedup",
    "print": "services.print",
    "certificate": "services.certificate",
}


def migrations_dir(component: str) -> Path:
    package = importlib.import_module(COMPONENTS[component])
    return Path(package.__file__).parent / "migrations"  # type: ignore[arg-type]


def alembic_config(url: str, component: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(component)))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["database_url"] = url
    cfg.attributes["component"] = component
    return cfg


def upgrade(url: str, components: list[str] | None = None, revision: str = "head") -> None:
    """Upgrade components (all by default). Synchronous: call it before the event loop or in a thread."""
    for component in components or list(COMPONENTS):
        command.upgrade(alembic_config(url, component), revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of every component's env.py."""
    cfg = context.config
    url = cfg.attributes.get("database_url")
    component = cfg.attributes.get("component")
    if not url or not component:
        raise RuntimeError("run migrations with `ektp migrate` (it passes the URL and component)")
    sqlite = is_sqlite_url(url)

    def configure(connection: Connection) -> None:
        if not sqlite:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{component}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=f"alembic_version_{component}",
            version_table_schema=None if sqlite else component,
            include_schemas=not sqlite,
            include_name=lambda name, type_, parent: type_ != "schema" or name == component,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(url, application_name=f"ektp-migrate-{component}", pool_size=1)
        try:
            async with engine.connect() as conn:
                if sqlite:
                    conn = await conn.execution_options(schema_translate_map={s: None for s in SCHEMAS})
                await conn.run_sync(configure)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def revision(url: str, component: str, message: str) -> None:
    """Autogenerate a new revision for a component from its models (developers: against PostgreSQL at head)."""
    command.revision(alembic_config(url, component), message=message, autogenerate=True)
