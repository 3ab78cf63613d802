"""The external-ABIS adapter against the reference ABIS running as its own process (MOSIP ABIS
interface over RabbitMQ): decisions, failure codes, signed biometrics URLs, and what happens when
the ABIS stops answering (automatic pause, never over an operator's pause; automatic resume)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from services.dedup.abis import protocol, urls
from services.dedup.abis.client import AbisClient, AbisUnavailable
from shared.settings import Settings
from tests.dedup.support import (
    PRINT_READY_OR_LATER, Recorder, dedup_position, grey_zone_face, post, publish_submitted, wait_status_in,
)
from tests.support.api import auth, eventually
from tests.support.processes import Cluster, Proc, ektp

pytestmark = pytest.mark.slow

NOT_ANSWERING = "ABIS tidak menjawab / not answering"


def start_reference(cluster: Cluster, amqp_url: str) -> Proc:
    proc = Proc("abis-reference", ektp("abis-reference", "--broker-url", amqp_url,
                                       "--data-dir", str(cluster.workdir / "abis")),
                cluster.env, cluster.workdir / "abis-reference.log").start()
    cluster.agents.append(proc)  # stopped with the cluster, its log shown with the others
    return proc


def dedup_on_abis(cluster: Cluster, amqp_url: str) -> None:
    """Restart the dedup service with EKTP_DEDUP_MATCHER=abis (switching matcher is configuration)."""
    cluster.procs["dedup"].stop()
    cluster.env = {**cluster.env, "EKTP_DEDUP_MATCHER": "abis", "EKTP_ABIS_URL": amqp_url,
                   "EKTP_ABIS_BIOMETRICS_BASE_URL": cluster.url("dedup"), "EKTP_ABIS_TIMEOUT_SECONDS": "3",
                   "EKTP_ABIS_RETRIES": "1", "EKTP_ABIS_PAUSE_AFTER": "2", "EKTP_ABIS_PING_SECONDS": "1"}
    cluster.start_service("dedup")


@pytest.fixture
async def on_abis(cluster: Cluster, token: str, amqp_url: str):  # type: ignore[no-untyped-def]
    """The reference ABIS running, dedup switched to it; (reference, enrollment client, dedup client)."""
    reference = start_reference(cluster, amqp_url)
    dedup_on_abis(cluster, amqp_url)
    h = auth(token)
    enrollment = httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=30)
    dedup = httpx.AsyncClient(base_url=cluster.url("dedup"), headers=h, timeout=30)
    try:
        yield reference, enrollment, dedup
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        await asyncio.gather(enrollment.aclose(), dedup.aclose())


async def _served(proc: Proc, operation: str, *, after: int) -> bool:
    return operation in proc.log()[after:]


async def test_adapter_decides_through_the_reference_abis_and_maps_failure_codes(on_abis, cluster, token, amqp_url):
    _, enrollment, dedup = on_abis
    client = AbisClient(amqp_url, timeout=10, retries=1)
    r = Recorder(seed=77)
    try:
        engine = (await dedup.get("/v1/dedup/engine")).json()
        assert engine["matcher"] == "abis"

        rec_a, person_a = r.record()
        a = await post(enrollment, rec_a)
        await wait_status_in(enrollment, a["receipt_number"], PRINT_READY_OR_LATER)
        dup_rec, _ = r.record(person=person_a)
        dup = await post(enrollment, dup_rec)
        grey_rec = grey_zone_face(r.record()[0], rec_a)
        grey = await post(enrollment, grey_rec)
        poor_id = await publish_submitted(amqp_url, r.record(poor=True)[0])

        await wait_status_in(enrollment, dup["receipt_number"], "DUPLICATE")
        seen = await dedup_position(dedup, dup["id"])
        assert seen["outcome"] == "duplicate" and seen["reasons"] == ["score_above_auto_threshold"]
        await wait_status_in(enrollment, grey["receipt_number"], "ADJUDICATION")
        case = (await dedup.get("/v1/dedup/cases")).json()["items"][0]
        assert case["enrollment_id"] == grey["id"] and case["candidates"][0]["enrollment_id"] == a["id"]
        assert set(case["candidates"][0]["scores"]) == {"finger", "iris", "face", "fused"}
        # The ABIS found the biometrics unusable (failure 19): ENROLL_FAILURE with that reason.
        seen = await dedup_position(dedup, poor_id)
        assert seen["outcome"] == "enroll_failure" and seen["reasons"] == ["abis_19_quality_check_failed"]

        # Only the unique record stays in the ABIS's gallery (duplicate and grey-zone probes were deleted).
        async def count_is_one() -> bool:
            return (await dedup.get("/v1/dedup/engine")).json()["gallery_size"] == 1

        await eventually(count_is_one, timeout=60, what="ABIS reference count 1")

        # The adapter's protocol, straight at the reference ABIS.
        assert protocol.succeeded(await client.call(protocol.PING))
        assert (await client.call(protocol.REFERENCE_COUNT))["count"] == "1"
        assert (await client.call(protocol.PENDING_JOBS))["jobscount"] == "0"
        unknown = str(uuid.uuid4())
        answer = await client.call(protocol.IDENTIFY, reference_id=unknown)
        assert answer["returnValue"] == "2" and protocol.failure_reason(answer) == protocol.FailureReason.REFERENCE_ID_NOT_FOUND
        answer = await client.call(protocol.DELETE, reference_id=unknown)
        assert protocol.failure_reason(answer) == protocol.FailureReason.REFERENCE_ID_NOT_FOUND
        settings = Settings(bootstrap_token=token, abis_biometrics_base_url=cluster.url("dedup"))
        answer = await client.call(protocol.INSERT, reference_id=a["id"], reference_url=urls.sign(settings, a["id"]))
        assert protocol.failure_reason(answer) == protocol.FailureReason.REFERENCE_ID_EXISTS
        expired = urls.sign(settings, dup["id"], now=time.time() - 3600)
        answer = await client.call(protocol.INSERT, reference_id=dup["id"], reference_url=expired)
        assert protocol.failure_reason(answer) == protocol.FailureReason.URL_EXPIRED
        forged = urls.sign(settings, dup["id"]).replace("sig=", "sig=0")
        answer = await client.call(protocol.INSERT, reference_id=dup["id"], reference_url=forged)
        assert protocol.failure_reason(answer) == protocol.FailureReason.UNABLE_TO_FETCH_REFERENCE_URL
        answer = await client.call(protocol.INSERT, reference_id=None, reference_url=expired)
        assert protocol.failure_reason(answer) == protocol.FailureReason.MISSING_REFERENCE_ID

        # No personal data leaves: the signed URL serves templates only; the ABIS stores no NIK or name.
        async with httpx.AsyncClient() as anonymous:
            served = (await anonymous.get(urls.sign(settings, a["id"]))).json()
            assert set(served) <= {"fingerprints", "irises", "face", "exceptions"} and served["fingerprints"]
            assert (await anonymous.get(forged)).status_code == 403
            assert (await anonymous.get(expired)).json()["error"] == "url_expired"
        stored = (cluster.workdir / "abis" / "references.ndjson").read_text()
        assert a["id"] in stored and rec_a["nik"] not in stored and rec_a["name"] not in stored
        assert "photo_jpeg" not in stored
    finally:
        await client.close()


async def test_abis_not_answering_pauses_dedup_and_its_return_resumes_it(on_abis, cluster, amqp_url):
    reference, enrollment, dedup = on_abis
    r = Recorder(seed=78)

    async def engine_is(paused: bool, automatic: bool | None = None) -> dict | None:
        body = (await dedup.get("/v1/dedup/engine")).json()
        return body if body["paused"] == paused and (automatic is None or body["automatic"] == automatic) else None

    rec_a, person_a = r.record()
    a = await post(enrollment, rec_a)
    await wait_status_in(enrollment, a["receipt_number"], PRINT_READY_OR_LATER)

    # The ABIS stops: the next record's calls time out; dedup pauses itself, the record waits.
    reference.stop()
    b = await post(enrollment, r.record()[0])
    state = await eventually(lambda: engine_is(True, automatic=True), timeout=120, what="automatic pause")
    assert state["reason"].startswith(NOT_ANSWERING) and state["changed_by"] == "dedup-engine"
    seen = (await dedup.get(f"/v1/dedup/backlog/position/{b['id']}")).json()
    assert (seen["status"], seen["position"], seen["paused"]) == ("WAITING", 1, True)
    # A client of a stopped ABIS gets a timeout, not an answer.
    with pytest.raises(AbisUnavailable):
        quick = AbisClient(amqp_url, timeout=1, retries=0)
        try:
            await quick.call(protocol.PING)
        finally:
            await quick.close()

    # An operator pauses on top: the ABIS coming back must not undo that.
    manual = await dedup.post("/v1/dedup/engine/pause", json={"reason": "lisensi habis / licence expired"})
    assert manual.json()["automatic"] is False and manual.json()["reason"] == "lisensi habis / licence expired"
    mark = len(reference.log())
    reference = start_reference(cluster, amqp_url)
    await eventually(lambda: _served(reference, "mosip.abis.ping", after=mark), timeout=60,
                     what="the engine pinging the returned ABIS")
    await eventually(lambda: _served(reference, "mosip.abis.referenceCount", after=mark), timeout=60,
                     what="a full ping round")
    state = (await dedup.get("/v1/dedup/engine")).json()
    assert state["paused"] and state["reason"] == "lisensi habis / licence expired"
    assert (await dedup.get(f"/v1/dedup/backlog/position/{b['id']}")).json()["status"] == "WAITING"

    assert (await dedup.post("/v1/dedup/engine/resume")).json()["paused"] is False
    await wait_status_in(enrollment, b["receipt_number"], PRINT_READY_OR_LATER)

    # Stops again, comes back again: paused and resumed by itself; the waiting record is decided
    # against the gallery the ABIS kept (a duplicate of A is still found).
    reference.stop()
    c = await post(enrollment, r.record(person=person_a)[0])
    await eventually(lambda: engine_is(True, automatic=True), timeout=120, what="second automatic pause")
    reference = start_reference(cluster, amqp_url)
    await eventually(lambda: engine_is(False), timeout=120, what="automatic resume")
    await wait_status_in(enrollment, c["receipt_number"], "DUPLICATE")
    assert (await dedup_position(dedup, c["id"]))["outcome"] == "duplicate"
