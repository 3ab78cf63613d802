"""A TCP proxy on loopback that cuts connections mid-transfer, like a weak kecamatan link.

    with FlakyProxy(upstream_port, cut_probability=0.4) as proxy:
        ... talk to 127.0.0.1:proxy.port ...
        proxy.cuts  # connections it cut

Each connection gets a byte budget (both directions together): with `cut_probability` a random
one in [min_bytes, max_bytes], else `max_bytes * 4`, so that even a kept-alive connection dies
after a while. When the budget is spent the proxy closes both sides at once (with an RST), in
the middle of a request or of an answer. With `cut_answer_with` it also cuts, once, the first
answer whose bytes hold that marker, before any of it reaches the client (an answer lost on the
way: the server did the work, the client never heard of it). It runs its own event loop in a
thread, so blocking and async clients can both use it.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading


class FlakyProxy:
    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1", cut_probability: float = 0.4,
                 min_bytes: int = 200, max_bytes: int = 400_000, seed: int = 0,
                 cut_answer_with: bytes | None = None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.cut_answer_with = cut_answer_with  # cleared when it has cut that answer
        self.cut_probability = cut_probability
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        self.rng = random.Random(seed)
        self.port = 0
        self.connections = 0
        self.cuts = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="flaky-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> "FlakyProxy":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        budget = [self.rng.randint(self.min_bytes, self.max_bytes) if self.rng.random() < self.cut_probability
                  else self.max_bytes * 4]
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_w)
            return
        cut = asyncio.Event()

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, answers: bool) -> None:
            try:
                while not cut.is_set():
                    data = await reader.read(16384)
                    if not data:
                        break
                    if answers and self.cut_answer_with is not None and self.cut_answer_with in data:
                        self.cut_answer_with = None
                        cut.set()
                        return
                    if len(data) >= budget[0]:
                        writer.write(data[: budget[0]])
                        await writer.drain()
                        budget[0] = 0
                        cut.set()
                        return
                    budget[0] -= len(data)
                    writer.write(data)
                    await writer.drain()
                if not cut.is_set() and writer.can_write_eof():
                    writer.write_eof()
            except (ConnectionError, OSError):
                cut.set()

        pipes = [asyncio.create_task(pipe(client_r, upstream_w, answers=False)),
                 asyncio.create_task(pipe(upstream_r, client_w, answers=True))]
        watch = asyncio.create_task(cut.wait())
        while not cut.is_set() and not all(p.done() for p in pipes):
            await asyncio.wait([watch, *pipes], return_when=asyncio.FIRST_COMPLETED)
        for task in (watch, *pipes):
            task.cancel()
        await asyncio.gather(watch, *pipes, return_exceptions=True)
        if cut.is_set():
            self.cuts += 1
            _reset(client_w)
            _reset(upstream_w)
        else:
            for w in (client_w, upstream_w):
                w.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, as a dropped link looks to both ends."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
