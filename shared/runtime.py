"""What a running process holds: the engine, the transport, and each service's context.

`ektp serve NAME` runs one service in a process; `ektp up` runs all four on one Platform (one
SQLite file and the embedded queue). Either way a service sees only its own ServiceContext.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import crypto
from shared.auth.cache import CredentialCache
from shared.db import AdvisoryLock, create_engine, make_sessionmaker, read_only, single_read
from shared.messaging.amqp import AmqpTransport
from shared.messaging.consumer import Consumer, run_consumer
from shared.messaging.embedded import EmbeddedTransport
from shared.messaging.outbox import OutboxRelay
from shared.messaging.tables import MessagingTables
from shared.messaging.topology import QUEUES
from shared.messaging.transport import Transport
from shared.settings import Environment, Settings
from shared.sites import dinas_sites

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0  # what background work may take to finish when the process stops


async def open_transport(settings: Settings, engine: AsyncEngine, *, name: str) -> Transport:
    """The embedded queue (in the database) or RabbitMQ, started."""
    transport: Transport
    if settings.embedded_broker:
        transport = EmbeddedTransport(engine, max_attempts=settings.max_delivery_attempts,
                                      visibility_seconds=settings.embedded_visibility_seconds)
    else:
        assert settings.broker_url
        transport = AmqpTransport(settings.broker_url, connection_name=f"ektp-{name}",
                                  prefetch=settings.consumer_prefetch, max_attempts=settings.max_delivery_attempts)
    await transport.start()
    return transport


async def supervised(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` for the life of the process; restart it if it crashes."""
    delay = 1.0
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s crashed; restarting in %.0f s", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


class RelayThread:
    """The outbox relays of a process, on a thread and event loop of their own.

    Publishing takes a turn of the event loop per message (the AMQP client sends one message at a
    time). On the loop that serves requests a turn lasts, under load, as long as every waiting
    request's next step, and the relays fell behind intake by thousands of events a minute. On
    their own loop a turn is short, and the thread gets its share of the CPU from the interpreter's
    switch interval. The thread has its own database pool and broker connection."""

    def __init__(self, settings: Settings, tables: Sequence[MessagingTables], *, name: str,
                 on_published: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.on_published = on_published  # called on the relay thread after each pass that published
        self.tables = tables
        self.name = name
        self._relays: dict[str, OutboxRelay] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"{name}-relay", daemon=True)

    async def start(self) -> None:
        self._thread.start()
        await asyncio.to_thread(self._started.wait)
        if self._error is not None:
            raise RuntimeError("the outbox relays did not start") from self._error

    def poke(self, service: str) -> None:
        """Thread-safe: ask `service`'s relay for a pass now (after a commit that wrote events)."""
        if self._loop is not None and service in self._relays:
            self._loop.call_soon_threadsafe(self._relays[service].poke)

    async def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        await asyncio.to_thread(self._thread.join, STOP_SECONDS)
        if self._thread.is_alive():
            log.warning("stopping without waiting for the outbox relays (what they did not send goes after a restart)")

    def _run(self) -> None:
        """The thread: uvloop, as uvicorn gives the request loop, when it is installed."""
        try:
            import uvloop
        except ImportError:
            loop_factory = None
        else:
            loop_factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        settings = self.settings
        try:
            engine = create_engine(settings.database_url, application_name=f"ektp-{self.name}-relay", pool_size=2)
            transport = await open_transport(settings, engine, name=f"{self.name}-relay")
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._started.set()
            return
        sessions = make_sessionmaker(engine)
        postgres = engine.dialect.name == "postgresql"
        self._relays = {
            t.service: OutboxRelay(sessions, t, transport, poll_seconds=settings.outbox_poll_seconds,
                                   publish_twice=settings.fault_publish_twice, after_publish=self.on_published,
                                   lead=AdvisoryLock(engine.url, f"outbox-{t.service}") if postgres else None,
                                   keep_sent=dt.timedelta(hours=settings.outbox_keep_sent_hours))
            for t in self.tables}
        tasks = [asyncio.create_task(supervised(f"{service}.relay", relay.run)) for service, relay in self._relays.items()]
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await transport.close()
            await engine.dispose()


@dataclass
class Platform:
    name: str
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]  # for work that only reads (shared.db.read_only)
    transport: Transport
    credentials: CredentialCache

    @classmethod
    async def open(cls, settings: Settings, *, name: str) -> "Platform":
        crypto.configure(settings.data_key, key_file=None if settings.env is Environment.PRODUCTION
                         else settings.data_dir / "data.key")
        engine = create_engine(settings.database_url, application_name=f"ektp-{name}", pool_size=settings.db_pool_size)
        transport = await open_transport(settings, engine, name=name)
        credentials = CredentialCache.for_database(engine.url, seconds=settings.credential_cache_seconds)
        await credentials.start()
        return cls(name=name, settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                   read_sessions=make_sessionmaker(read_only(engine)), transport=transport, credentials=credentials)

    async def close(self) -> None:
        await self.credentials.close()
        await self.transport.close()
        await self.engine.dispose()

    async def database_ready(self) -> bool:
        try:
            async with single_read(self.engine) as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("database not ready", exc_info=True)
            return False


@dataclass
class ServiceContext:
    name: str
    platform: Platform
    tables: MessagingTables
    relays: RelayThread
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.platform.sessions

    @property
    def sites(self) -> tuple[str, ...]:
        """The sites the dinas prints for, that recordings, stock and redirects may name (shared.sites)."""
        return dinas_sites(self.settings.dinas_code)

    def events_written(self) -> None:
        """Call after a commit that wrote outbox rows: the relay publishes at once."""
        self.relays.poke(self.name)


@dataclass
class ServiceModule:
    """What a service contributes to a process: routes, consumers, background tasks."""

    name: str
    router: APIRouter
    tables: MessagingTables
    consumers: Callable[[ServiceContext], Sequence[Consumer]] = lambda ctx: ()
    startup: Callable[[ServiceContext], Awaitable[None]] | None = None
    tasks: Sequence[Callable[[ServiceContext], Awaitable[None]]] = ()
    shutdown: Callable[[ServiceContext], Awaitable[None]] | None = None


class Runner:
    """Starts and stops the background work of a set of services on one platform."""

    def __init__(self, platform: Platform, modules: Sequence[ServiceModule]) -> None:
        self.platform = platform
        self.modules = modules
        self.contexts: dict[str, ServiceContext] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        settings = self.platform.settings
        loop = asyncio.get_running_loop()
        transport = self.platform.transport

        def published() -> None:  # on the relay thread: the embedded queue's consumers look now
            if not loop.is_closed():
                loop.call_soon_threadsafe(transport.published_elsewhere)

        self.relays = RelayThread(settings, [m.tables for m in self.modules], name=self.platform.name,
                                  on_published=published)
        await self.relays.start()
        for module in self.modules:
            ctx = ServiceContext(name=module.name, platform=self.platform, tables=module.tables, relays=self.relays)
            self.contexts[module.name] = ctx
            if module.startup is not None:
                await module.startup(ctx)
        for module in self.modules:
            ctx = self.contexts[module.name]
            for consumer in module.consumers(ctx):
                if consumer.queue not in QUEUES:
                    raise RuntimeError(f"queue {consumer.queue} is not in shared.messaging.topology.QUEUES")
                self._spawn(consumer.queue, functools.partial(
                    run_consumer, self.platform.transport, self.platform.sessions, module.tables, consumer,
                    after_commit=ctx.events_written))
            for task in module.tasks:
                self._spawn(f"{module.name}.{task.__name__}", functools.partial(task, ctx))

    def _spawn(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` in the background for the life of the process; restart it if it crashes."""
        self._tasks.append(asyncio.create_task(supervised(name, work), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # Each finishes the database work it is in (a delivery runs to its end), which takes well
        # under a second. The bound is for work that hangs (a database that does not answer, a
        # SQLite write lock held elsewhere: busy timeout 60 s a try): what was not finished is
        # delivered again after a restart.
        pending = (await asyncio.wait(self._tasks, timeout=STOP_SECONDS))[1] if self._tasks else set()
        if pending:
            log.warning("stopping without waiting for %s", ", ".join(sorted(t.get_name() for t in pending)))
        self._tasks.clear()
        await self.relays.stop()
        for module in self.modules:
            if module.shutdown is not None:
                await module.shutdown(self.contexts[module.name])
