"""The reference ABIS: the built-in open matcher behind the MOSIP ABIS interface, as its own process.

    ektp abis-reference --broker-url amqp://... --data-dir ./var/abis

It takes requests from ``abis.request`` one at a time (so its gallery sees them in order), fetches
templates from the ``referenceURL`` it is given (the dedup service's signed URL), and answers on the
request's ``reply_to``. Its gallery is durable: every insert and delete is appended to
``<data-dir>/references.ndjson`` and replayed at start. It is what a vendor's ABIS must behave
like, and what the adapter's tests run against.

Answers: insert 11 (exists), 8 (URL not fetchable), 18 (URL expired), 19 (templates unusable —
quality), 17 (unknown template format), 12 (no biometric data); identify/delete 13 (unknown
reference); 6/7/9 for missing fields; 15 for an unknown ``id``. identify returns the candidates
whose fused score reaches the grey (adjudication) threshold for the request's targetFPIR, with the
fused score in ``analytics.fused`` and each modality's in ``modalities[].analytics.score``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from aio_pika.abc import AbstractIncomingMessage

from services.dedup.abis import protocol
from services.dedup.abis.client import declare_request_queue
from services.dedup.matcher import Gallery, Templates, decode, thresholds_for_fpir

log = logging.getLogger(__name__)
F = protocol.FailureReason


class ReferenceAbis:
    def __init__(self, broker_url: str, *, data_dir: Path, request_queue: str = "abis.request",
                 expected_gallery_size: int = 1_000_000, fetch_timeout: float = 10.0) -> None:
        self.broker_url = broker_url
        self.request_queue = request_queue
        self.expected_gallery_size = expected_gallery_size
        self.fetch_timeout = fetch_timeout
        self.gallery = Gallery()
        self.templates: dict[str, Templates] = {}
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = data_dir / "references.ndjson"
        self.served = 0
        self._stop = asyncio.Event()

    # storage ---------------------------------------------------------------------------------
    def load(self) -> int:
        if self.store.exists():
            for line in self.store.read_text().splitlines():
                entry = json.loads(line)
                if entry["op"] == "insert":
                    self._add(entry["ref"], decode(entry["templates"]))
                else:
                    self._remove(entry["ref"])
        return len(self.templates)

    def _append(self, entry: dict[str, Any]) -> None:
        with self.store.open("a") as f:
            f.write(json.dumps(entry) + "\n")

    def _add(self, ref: str, templates: Templates) -> None:
        self.templates[ref] = templates
        self.gallery.add(ref, templates)

    def _remove(self, ref: str) -> None:
        if self.templates.pop(ref, None) is not None:
            self.gallery.remove(ref)

    # operations ------------------------------------------------------------------------------
    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("id")
        if not req.get("requestId"):
            return protocol.response(req, ok=False, failure=F.MISSING_REQUEST_ID)
        if op not in protocol.OPERATIONS:
            return protocol.response(req, ok=False, failure=F.INVALID_ID)
        if op == protocol.PING:
            return protocol.response(req)
        if op == protocol.PENDING_JOBS:
            return protocol.response(req, jobscount="0")
        if op == protocol.REFERENCE_COUNT:
            return protocol.response(req, count=str(len(self.templates)))
        ref = req.get("referenceId")
        if not ref:
            return protocol.response(req, ok=False, failure=F.MISSING_REFERENCE_ID)
        if op == protocol.INSERT:
            return await self._insert(req, str(ref))
        if ref not in self.templates:
            return protocol.response(req, ok=False, failure=F.REFERENCE_ID_NOT_FOUND)
        if op == protocol.DELETE:
            self._remove(ref)
            self._append({"op": "delete", "ref": ref})
            return protocol.response(req)
        return await asyncio.to_thread(self._identify, req, str(ref))

    async def _insert(self, req: dict[str, Any], ref: str) -> dict[str, Any]:
        if ref in self.templates:
            return protocol.response(req, ok=False, failure=F.REFERENCE_ID_EXISTS)
        url = req.get("referenceURL")
        if not url:
            return protocol.response(req, ok=False, failure=F.MISSING_REFERENCE_URL)
        try:
            async with httpx.AsyncClient(timeout=self.fetch_timeout) as http:
                answer = await http.get(url)
        except httpx.HTTPError:
            return protocol.response(req, ok=False, failure=F.UNABLE_TO_FETCH_REFERENCE_URL)
        if answer.status_code != 200:
            expired = answer.status_code == 403 and "expired" in answer.text
            return protocol.response(req, ok=False, failure=F.URL_EXPIRED if expired else F.UNABLE_TO_FETCH_REFERENCE_URL)
        data = answer.json()
        if not data.get("fingerprints") and not data.get("irises") and not data.get("face"):
            return protocol.response(req, ok=False, failure=F.NO_BIOMETRIC_DATA)
        templates = decode(data)
        if not templates.usable:
            formats = {"unknown_format", "bad_template_size", "bad_template_values"}
            failure = F.INVALID_TEMPLATE_FORMAT if formats & set(templates.reasons) else F.QUALITY_CHECK_FAILED
            return protocol.response(req, ok=False, failure=failure)
        self._add(ref, templates)
        self._append({"op": "insert", "ref": ref, "templates": data})
        return protocol.response(req)

    def _identify(self, req: dict[str, Any], ref: str) -> dict[str, Any]:
        flags = req.get("flags") or {}
        max_results = int(flags.get("maxResults") or 10)
        thresholds = thresholds_for_fpir(float(flags.get("targetFPIR") or 40),
                                         gallery_size=max(self.expected_gallery_size, len(self.templates)))
        allowed = {g.get("referenceId") for g in ((req.get("gallery") or {}).get("referenceIds") or ())}
        found = self.gallery.identify(self.templates[ref], max_results=max_results + 1)
        hits = [c for c in found if c.ref_id != ref and c.fused >= thresholds.grey
                and (not allowed or c.ref_id in allowed)][:max_results]
        candidates = [{
            "referenceId": c.ref_id,
            "analytics": {"fused": f"{c.fused:.3f}"},
            "modalities": [{"biometricType": t, "analytics": {"score": f"{s:.3f}"}}
                           for t, s in (("FIR", c.finger), ("IIR", c.iris), ("FACE", c.face)) if s is not None],
        } for c in hits]
        return protocol.response(req, candidateList={"count": str(len(candidates)), "candidates": candidates})

    # serving ---------------------------------------------------------------------------------
    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        try:
            req = json.loads(message.body)
        except ValueError:
            req = {}
        try:
            answer = await self.handle(req) if req else protocol.response({}, ok=False, failure=F.INVALID_REQUEST)
        except Exception:
            log.exception("reference ABIS failed on %s", req.get("id"))
            answer = protocol.response(req, ok=False, failure=F.INTERNAL_ERROR)
        self.served += 1
        log.info("served %s %s -> %s %s", req.get("id"), req.get("referenceId"), answer["returnValue"],
                 answer.get("failureReason", ""))
        if message.reply_to:
            await self._channel.default_exchange.publish(
                aio_pika.Message(json.dumps(answer).encode(), content_type="application/json",
                                 correlation_id=message.correlation_id or req.get("requestId")),
                routing_key=message.reply_to,
            )
        await message.ack()

    async def run(self) -> None:
        loaded = self.load()
        connection = await aio_pika.connect_robust(self.broker_url,
                                                   client_properties={"connection_name": "ektp-abis-reference"})
        try:
            self._channel = await connection.channel()
            await self._channel.set_qos(prefetch_count=1)
            queue = await declare_request_queue(self._channel, self.request_queue)
            await queue.consume(self._on_request)
            log.info("reference ABIS ready on %s with %d references", self.request_queue, loaded)
            await self._stop.wait()
        finally:
            await connection.close()

    def stop(self) -> None:
        self._stop.set()
