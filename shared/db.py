"""Database engine and sessions, one schema per service.

On PostgreSQL each service's tables live in their own schema (``enrollment``, ``dedup``,
``print``, ``certificate``, and ``auth`` for credentials and the audit log). On SQLite (the
all-in-one) the schemas are translated away and every table lives in one file; table names are
therefore unique across the project.

The caller owns the transaction (``async with session.begin()``); service and repository
functions only ``flush()``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import DateTime, MetaData, Select, String, and_, bindparam, event, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

SCHEMAS = ("auth", "enrollment", "dedup", "print", "certificate")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always time-zone aware (UTC) in Python, on PostgreSQL and on SQLite
    alike (SQLite keeps no zone). Naive values are refused, so no local time slips in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def make_base(schema: str) -> type[DeclarativeBase]:
    """A declarative base whose tables live in ``schema``."""
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}")

    class Base(DeclarativeBase):
        metadata = MetaData(schema=schema, naming_convention=NAMING_CONVENTION)

    return Base


def json_dumps(value: Any) -> str:
    """JSON columns are written with orjson: several times faster than `json` on the intake path."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, application_name: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and write-locking transactions (but those
    of `read_only`).

    PostgreSQL: `pool_size` connections and no overflow. Under load, overflow connections were
    opened and closed by the hundred a second (a server process each), which cost more than waiting."""
    if is_sqlite_url(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            connect_args={"timeout": 60, "factory": _SqliteConnection},
            json_serializer=json_dumps,
            execution_options={"schema_translate_map": {s: None for s in SCHEMAS}},
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        json_serializer=json_dumps,
        connect_args={"server_settings": {"application_name": application_name}},
    )

    @event.listens_for(engine.sync_engine, "checkout")
    def _refuse_closed(dbapi_connection, _record, _proxy):  # type: ignore[no-untyped-def]
        # Instead of a ping (a query and its round trips on every checkout: ~0.45 ms of CPU here):
        # asyncpg keeps reading an idle connection, so a server that closed it (a restart, an
        # administrator's pg_terminate_backend) has already marked it closed. The pool then
        # discards it and checks out another.
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")

    return engine


class _SqliteConnection(sqlite3.Connection):
    """A SQLite connection that rolls its transaction back when it is closed.

    A task cancelled in the middle of a statement (a process stopping) has its connection closed
    by SQLAlchemy without a rollback, while the statement's cursor lives on in the exception's
    traceback until the cyclic collector frees it. Python (3.11 on) no longer finalizes a live
    cursor's statement on close, so SQLite kept the connection and its transaction (a "zombie",
    sqlite3_close_v2) and with it the write lock of BEGIN IMMEDIATE: every other connection
    waited out its busy timeout behind it (stopping the all-in-one took 60 to 300 s now and then).
    A ROLLBACK ends the transaction whatever statements are still open."""

    def close(self) -> None:
        try:
            if self.in_transaction:
                self.rollback()
        except sqlite3.Error:  # closed already, or the rollback failed: the close still goes on
            pass
        super().close()


# The execution option that declares a connection's transactions read-only (see `read_only`).
READ_ONLY = "ektp_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        record.info[READ_ONLY] = False  # query_only is off on a new connection
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # A transaction that may write takes the write lock at the start: SQLite cannot upgrade a
        # read transaction once another writer has committed since it began (SQLITE_BUSY at once,
        # which the busy timeout does not wait out), and our transactions almost always write.
        # One declared read-only (`read_only`) begins DEFERRED: in WAL mode it reads its snapshot
        # without waiting for a writer, and query_only makes a write in it an error, never that
        # upgrade. The pragma is set on the connection only when it changes.
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        info = conn.connection.info
        if info.get(READ_ONLY, False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
            info[READ_ONLY] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work that only reads (readiness, the public status, counts): on SQLite its
    transactions do not take the write lock, so they do not wait behind a writer's, and a write in
    one fails ("attempt to write a readonly database"). PostgreSQL: no difference."""
    return engine.execution_options(**{READ_ONLY: True})


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of `engine`; of `read_only(engine)`, sessions for work that only reads."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def paginate(session: AsyncSession, stmt: Select[Any], *order_by: Any, limit: int,
                   offset: int) -> tuple[Sequence[Any], int]:
    """One page of `stmt`'s rows in `order_by` order, and how many rows there are in all."""
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(*order_by).limit(limit).offset(offset))).scalars().all()
    return rows, int(total)


@asynccontextmanager
async def single_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one read that needs no transaction, given back when the block ends.
    PostgreSQL: autocommit, so the read is one round trip (no BEGIN before it, no ROLLBACK after).
    SQLite keeps its own transaction handling (see `_configure_sqlite`): a read-only transaction,
    which does not wait behind a writer."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            conn = await conn.execution_options(**{READ_ONLY: True})
        yield conn


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on error."""
    async with sessions() as session, session.begin():
        yield session


def conflict_insert(session: AsyncSession, table: Any) -> Any:
    """`INSERT` of the session's dialect (PostgreSQL or SQLite), which has `on_conflict_do_nothing`."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def asyncpg_dsn(url: Any) -> str:
    """The DSN asyncpg takes, of a SQLAlchemy PostgreSQL URL: for the connections made without the
    engine's pool (an advisory lock's, a LISTEN)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_keys(session: AsyncSession, stmt: Select[Any], columns: Sequence[Any],
              keys: Sequence[tuple[str, ...]]) -> Select[Any]:
    """`stmt`'s rows whose (text) `columns` equal one of `keys`, looked up through the unique index
    on those columns whatever statistics the planner has. PostgreSQL: a join with the keys as
    arrays unnested, one index probe a key, in a statement that is the same for any number of keys
    (compiled once, prepared once). `(a, b) IN (...)` there was planned, on a table not yet
    analysed, as a walk through every row sharing the first column (every row of a kecamatan:
    10-16 ms a batch at 10,000 rows, growing with the table). SQLite's planner probes the index
    for each tuple of `IN`."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return stmt.where(tuple_(*columns).in_(list(keys)))
    names = [f"k{i}" for i in range(len(columns))]
    arrays = [bindparam(f"with_{name}", [key[i] for key in keys], type_=postgresql.ARRAY(String), unique=True)
              for i, name in enumerate(names)]
    wanted = func.unnest(*arrays).table_valued(*names).render_derived(name="wanted")
    return stmt.join(wanted, and_(*(c == wanted.c[name] for c, name in zip(columns, names))))


class AdvisoryLock:
    """One holder at a time, among every process on a PostgreSQL database, of the session-level
    advisory lock named `name`, held on a connection of its own for as long as that connection
    lives: a holder that dies, or whose connection ends, frees it for the next `held()` elsewhere.
    `held()` is cheap while held (no query) and one query while another process holds it."""

    def __init__(self, url: Any, name: str, *, retry_seconds: float = 1.0) -> None:
        self.dsn = asyncpg_dsn(url)
        self.name = name
        self.retry_seconds = retry_seconds  # while another holds it: at most one try this often
        self._conn: Any = None
        self._holding = False
        self._next_try = 0.0

    async def held(self) -> bool:
        if self._conn is not None and self._conn.is_closed():
            self._conn, self._holding = None, False
        if self._holding:
            return True
        if time.monotonic() < self._next_try:
            return False
        self._next_try = time.monotonic() + self.retry_seconds
        try:
            if self._conn is None:
                self._conn = await asyncpg.connect(self.dsn,
                                                   server_settings={"application_name": f"ektp-lock-{self.name}"})
            self._holding = bool(await self._conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", self.name))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await self.release()
        return self._holding

    async def release(self) -> None:
        conn, self._conn, self._holding = self._conn, None, False
        if conn is not None and not conn.is_closed():
            conn.terminate()
