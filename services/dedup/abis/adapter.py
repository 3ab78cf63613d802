"""`AbisMatcher`: the engine's matcher backed by an external ABIS (MOSIP ABIS interface).

Per recording: ``insert`` (reference id + a signed, short-lived URL to its templates), then
``identify`` against everything inserted before. The ABIS's answer becomes the same `Decision`
the built-in matcher makes:

  insert fails 12/17/19 (no data, bad format, quality) -> enroll_failure, reason abis_<code>_<name>
  insert fails 11 (reference exists)                   -> already inserted (a retry): go on
  insert fails 5/8/18 (fetching the URL)               -> once more with a fresh URL, then an error
  any other failure, or no answer                      -> MatcherUnavailable (the record waits)
  candidate fused >= auto threshold                    -> duplicate
  candidate fused in the grey zone                     -> adjudication
  no candidate                                         -> unique

Candidates' per-modality scores come from ``analytics`` (``fused``) and each modality's
``analytics.score`` (FIR finger, IIR iris, FACE face); an ABIS that gives no score is taken at its
word: a candidate it returns at the requested targetFPIR is a duplicate.

The ABIS's gallery follows our gallery log as the built-in one does: an "enter" is an insert (a
recording just identified is already in), a "leave" a delete; a recording identified but not put
in the gallery (duplicate, enroll failure, adjudication) is deleted again.
"""

from __future__ import annotations

import logging

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dedup import repository
from services.dedup.abis import protocol, urls
from services.dedup.abis.client import AbisClient, AbisUnavailable
from services.dedup.matcher import Candidate, Decision, Thresholds, thresholds_for_fpir
from services.dedup.matching import MatcherConfig, MatcherUnavailable
from services.dedup.models import RequestStatus
from shared.settings import Settings

log = logging.getLogger(__name__)
F = protocol.FailureReason


def decision_from_candidates(candidates: list[Candidate], thresholds: Thresholds) -> Decision:
    found = sorted(candidates, key=lambda c: c.fused, reverse=True)
    if not found:
        return Decision("unique")
    if found[0].fused >= thresholds.auto:
        return Decision("duplicate", found, ("score_above_auto_threshold",))
    if found[0].fused >= thresholds.grey:
        return Decision("adjudication", found, ("score_in_grey_zone",))
    return Decision("unique", found[:3])


def candidates_of(body: dict[str, Any], thresholds: Thresholds) -> list[Candidate]:
    out = []
    for c in (body.get("candidateList") or {}).get("candidates") or ():
        analytics = c.get("analytics") or {}
        scores = {m.get("biometricType"): (m.get("analytics") or {}).get("score") for m in c.get("modalities") or ()}

        def num(value: Any) -> float | None:
            try:
                return None if value in (None, "") else float(value)
            except (TypeError, ValueError):
                return None

        fused = num(analytics.get("fused"))
        out.append(Candidate(ref_id=str(c.get("referenceId")), finger=num(scores.get("FIR")),
                             iris=num(scores.get("IIR")), face=num(scores.get("FACE")),
                             fused=thresholds.auto if fused is None else fused))
    return out


class AbisError(MatcherUnavailable):
    """The ABIS answered with a failure we cannot turn into an outcome."""


class AbisMatcher:
    name = "abis"
    external = True

    def __init__(self, config: MatcherConfig, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.thresholds = thresholds_for_fpir(config.target_fpir, gallery_size=config.expected_gallery_size)
        url = settings.abis_url or settings.broker_url
        if not url:
            raise ValueError("EKTP_DEDUP_MATCHER=abis needs EKTP_ABIS_URL (or EKTP_BROKER_URL)")
        self.client = AbisClient(url, request_queue=settings.abis_request_queue, instance=settings.abis_instance,
                                 timeout=settings.abis_timeout_seconds, retries=settings.abis_retries)
        self._log_position = 0
        self._probes: set[str] = set()  # identified, still inserted, fate not yet known
        self._count: int | None = None

    @property
    def gallery_size(self) -> int | None:
        return self._count

    async def start(self) -> None:
        return None  # the connection is made on first use, so a missing ABIS does not stop the service

    async def close(self) -> None:
        await self.client.close()

    async def _call(self, operation: str, **fields: Any) -> dict[str, Any]:
        try:
            return await self.client.call(operation, **fields)
        except AbisUnavailable as exc:
            raise MatcherUnavailable(exc.reason) from exc

    async def ping(self) -> None:
        body = await self._call(protocol.PING)
        if not protocol.succeeded(body):
            raise AbisError(f"ABIS ping failed: {protocol.failure_name(protocol.failure_reason(body))}")
        count = await self._call(protocol.REFERENCE_COUNT)
        if protocol.succeeded(count):
            self._count = int(count.get("count", 0))

    async def _insert(self, ref_id: str) -> protocol.FailureReason | int | None:
        """Insert; None when the ABIS holds the reference now, else the failure reason."""
        for _ in range(2):
            body = await self._call(protocol.INSERT, reference_id=ref_id, reference_url=urls.sign(self.settings, ref_id))
            code = None if protocol.succeeded(body) else protocol.failure_reason(body)
            if code is None or code == F.REFERENCE_ID_EXISTS:
                return None
            if code not in protocol.RETRY_WITH_FRESH_URL:
                return code
        return code

    async def identify(self, biometrics: dict, *, ref_id: str) -> Decision:
        code = await self._insert(ref_id)
        if code in protocol.UNUSABLE:
            return Decision("enroll_failure", reasons=(protocol.failure_name(code),))
        if code is not None:
            raise AbisError(f"ABIS insert failed: {protocol.failure_name(code)}")
        self._probes.add(ref_id)
        body = await self._call(protocol.IDENTIFY, reference_id=ref_id, max_results=self.settings.abis_max_results,
                                target_fpir=self.config.target_fpir)
        if not protocol.succeeded(body):
            raise AbisError(f"ABIS identify failed: {protocol.failure_name(protocol.failure_reason(body))}")
        candidates = [c for c in candidates_of(body, self.thresholds) if c.ref_id != ref_id]
        return decision_from_candidates(candidates, self.thresholds)

    async def _delete(self, ref_id: str) -> None:
        body = await self._call(protocol.DELETE, reference_id=ref_id)
        code = None if protocol.succeeded(body) else protocol.failure_reason(body)
        if code not in (None, F.REFERENCE_ID_NOT_FOUND):
            raise AbisError(f"ABIS delete failed: {protocol.failure_name(code)}")

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """The gallery lives in the ABIS (durably); start following the log from now."""
        async with sessions() as session:
            self._log_position = await repository.last_gallery_log_id(session)
        try:
            await self.ping()
        except MatcherUnavailable as exc:
            log.warning("ABIS not answering at start: %s", exc.reason)
        return self._count or 0

    async def sync(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session:
            changes = await repository.gallery_log_after(session, self._log_position)
        for log_id, enrollment_id, action in changes:
            ref = str(enrollment_id)
            if action == "enter":
                if ref in self._probes:
                    self._probes.discard(ref)
                else:
                    code = await self._insert(ref)
                    if code is not None:
                        log.error("ABIS refused gallery entry %s: %s", ref, protocol.failure_name(code))
            else:
                await self._delete(ref)
            self._log_position = log_id
        await self._settle_probes(sessions)
        return len(changes)

    async def _settle_probes(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Delete from the ABIS what was identified but did not enter the gallery."""
        if not self._probes:
            return
        async with sessions() as session:
            rows = await repository.niks_of(session, sorted(self._probes))
        for ref in sorted(self._probes):
            row = rows.get(ref)
            if row is None or row.status == RequestStatus.WAITING:
                continue  # not decided yet (the decision was rolled back): identified again later
            if not row.in_gallery:
                await self._delete(ref)
            self._probes.discard(ref)
