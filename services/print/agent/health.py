"""A tiny health endpoint for a print agent (for probes): GET /healthz → 200 once registered."""

from __future__ import annotations

import asyncio
import json

from services.print.agent.runner import PrintAgent


async def serve_health(agent: PrintAgent, port: int, host: str = "0.0.0.0") -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readline(), timeout=5)
            ok = agent.registered.is_set()
            body = json.dumps({"status": "ok" if ok else "starting", "node_id": agent.node_id,
                               "in_flight": len(agent.in_flight), "printed": agent.printed}).encode()
            status = b"200 OK" if ok else b"503 Service Unavailable"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
