"""A resident's public status names places, not site codes, and says what a certificate step
means for them: where the card is queued, printed, to be collected and handed over; until when
the certificate holds, that one issued again replaced the first; why it was revoked. The
enrollment service in-process on PostgreSQL and RabbitMQ; the other services' events go through its
own timeline handler, or come from the certificate service in-process beside it."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from services.certificate import repository as certificates
from services.certificate import service as certificate
from services.certificate.app import create_app as certificate_app
from services.enrollment.consumers import on_event
from shared.dates import english_date, indonesian_date
from shared.db import create_engine, make_sessionmaker
from shared.keys import SigningKey
from shared.messaging import new_event
from shared.settings import Settings
from tests.enrollment.service_app import enrollment_api  # noqa: F401 (fixture)
from tests.support.api import eventually, recording

PICKUP = "53.71.04"  # Oebobo
# the certificate service's fixed text for the code card_issued
HANDED_OVER = "KTP-el sudah diserahkan kepada pemiliknya / the KTP-el card has been handed over"


async def _recorded(api: httpx.AsyncClient, seed: int) -> tuple[str, str]:
    """A resident who collects at PICKUP, recorded: (enrollment id, receipt number)."""
    accepted = await api.post("/v1/enrollments", json=recording(seed, pickup_site=PICKUP),
                              headers={"Idempotency-Key": str(uuid.uuid4())})
    assert accepted.status_code == 201, accepted.text
    return accepted.json()["id"], accepted.json()["receipt_number"]


async def _events(pg_url: str, enrollment_id: str, *events: tuple[str, dict]) -> None:
    engine = create_engine(pg_url, application_name="ektp-test-events", pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            for offset, (event_type, data) in enumerate(events):
                event = new_event(event_type, {"enrollment_id": enrollment_id, **data}, key=enrollment_id)
                event = event.model_copy(update={"occurred_at": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)})
                await on_event(session, event)
            await session.commit()
    finally:
        await engine.dispose()


async def _status_after(api: httpx.AsyncClient, pg_url: str, seed: int, event: tuple[str, dict]) -> dict:
    """A resident's public status once their card was queued at PICKUP and then `event` came."""
    enrollment_id, receipt = await _recorded(api, seed)
    job = {"job_id": str(uuid.uuid4())}
    await _events(pg_url, enrollment_id, ("dedup.unique", {"site": PICKUP}),
                  ("print.job_queued", {**job, "site": PICKUP, "pickup_site": PICKUP}), (event[0], {**job, **event[1]}))
    return (await api.get(f"/v1/status/{receipt}")).json()


async def test_public_status_names_places_dates_and_reasons(enrollment_api, pg_url):  # noqa: F811
    enrollment_id, receipt = await _recorded(enrollment_api, 7101)
    job = str(uuid.uuid4())
    await _events(
        pg_url, enrollment_id,
        ("certificate.issued", {"number": "470/0001/Dukcapil/2026", "valid_until": "2027-05-30"}),
        ("dedup.unique", {"site": PICKUP}),
        # printed by the dinas's backup server, collected at the kecamatan
        ("print.job_queued", {"job_id": job, "site": "53.71", "pickup_site": PICKUP}),
        ("print.card_printed", {"job_id": job, "site": "53.71", "serial": "KTP-000001"}),
        ("print.card_issued", {"job_id": job, "site": PICKUP, "serial": "KTP-000001"}),
        ("certificate.revoked", {"number": "470/0001/Dukcapil/2026", "code": "card_issued", "reason": HANDED_OVER}),
    )
    status = (await enrollment_api.get(f"/v1/status/{receipt}")).json()
    assert status["pickup_site"] == PICKUP
    assert status["pickup_place_id"] == "Kantor Kecamatan Oebobo (53.71.04)"
    assert status["pickup_place_en"] == "Oebobo kecamatan office (53.71.04)"
    said = {step["step"]: (step["text_id"], step["text_en"]) for step in status["timeline"]}
    assert said["RECORDED"][1].startswith("Recorded at ") and "kecamatan office (" in said["RECORDED"][1]
    assert said["CERTIFICATE_ISSUED"] == (
        "Surat Keterangan pengganti KTP-el diterbitkan, berlaku sampai dengan 30 Mei 2027",
        "Interim certificate issued, valid until 30 May 2027")
    assert said["PRINT_QUEUED"] == ("Dalam antrean cetak di Dinas Dukcapil Kota Kupang (53.71)",
                                    "Queued for printing at Kota Kupang civil registry (53.71)")
    assert said["CARD_PRINTED"] == (
        "KTP-el sudah dicetak di Dinas Dukcapil Kota Kupang (53.71); diambil di Kantor Kecamatan Oebobo (53.71.04)",
        "Card printed at Kota Kupang civil registry (53.71); to be collected at Oebobo kecamatan office (53.71.04)")
    assert said["CARD_ISSUED"] == ("KTP-el sudah diserahkan di Kantor Kecamatan Oebobo (53.71.04)",
                                   "Card handed over at Oebobo kecamatan office (53.71.04)")
    assert said["CERTIFICATE_REVOKED"] == ("Surat Keterangan dicabut: KTP-el sudah diserahkan kepada pemiliknya",
                                           "Interim certificate revoked: the KTP-el card has been handed over")
    # still only where and when: no serial, job or certificate number for the public
    shown = str(status)
    assert "KTP-000001" not in shown and job not in shown and "470/0001" not in shown


async def test_a_card_printed_at_its_pickup_site_is_ready_there(enrollment_api, pg_url):  # noqa: F811
    status = await _status_after(enrollment_api, pg_url, 7102,
                                 ("print.card_printed", {"site": PICKUP, "serial": "KTP-000002"}))
    printed = next(step for step in status["timeline"] if step["step"] == "CARD_PRINTED")
    assert printed["text_id"] == "KTP-el sudah dicetak, siap diambil di Kantor Kecamatan Oebobo (53.71.04)"
    assert printed["text_en"] == "Card printed, ready for pickup at Oebobo kecamatan office (53.71.04)"


async def test_a_held_card_is_not_shown_as_queued(enrollment_api, pg_url):  # noqa: F811
    """print.job_held: the print server found the data does not fit on the card. The resident is told
    the card is held and where to come to have the data corrected, not "queued for printing"."""
    status = await _status_after(enrollment_api, pg_url, 7103,
                                 ("print.job_held", {"site": PICKUP, "reason": "unprintable"}))
    assert status["status"] == "SENT_FOR_PRINTING"  # the lifecycle's status; the words say more
    assert (status["status_id"], status["status_en"]) == ("Tertahan: perlu perbaikan data",
                                                          "On hold: the data must be corrected")
    held = status["timeline"][-1]
    assert held["step"] == "PRINT_HELD" and held["detail"] == {"site": PICKUP, "reason": "unprintable"}
    assert held["text_id"] == ("KTP-el belum dapat dicetak: datanya tidak muat di kartu. Datang ke Kantor Kecamatan "
                               "Oebobo (53.71.04) untuk perbaikan data")
    assert "Come to Oebobo kecamatan office (53.71.04) to have it corrected" in held["text_en"]


async def test_a_resident_to_be_recorded_again_is_told_where(enrollment_api, pg_url):  # noqa: F811
    enrollment_id, receipt = await _recorded(enrollment_api, 7104)
    await _events(pg_url, enrollment_id, ("dedup.enroll_failure", {"site": PICKUP, "reason": "fingerprints"}))
    status = (await enrollment_api.get(f"/v1/status/{receipt}")).json()
    assert status["status"] == "ENROLL_FAILURE"
    failed = status["timeline"][-1]
    assert failed["step"] == "DEDUP_ENROLL_FAILURE"
    assert failed["text_id"] == ("Biometrik tidak terbaca. Datang ke Kantor Kecamatan Oebobo (53.71.04) untuk rekam "
                                 "ulang; bawa tanda terima ini")
    assert failed["text_en"] == ("Biometrics unusable. Come to Oebobo kecamatan office (53.71.04) to be recorded "
                                 "again; bring this receipt")


async def test_a_certificate_issued_again_replaces_the_first_on_the_timeline(enrollment_api, pg_url, amqp_url,  # noqa: F811
                                                                            token, tmp_path):
    """Dinas staff issue a new certificate to a resident who has one (the paper lost): the first is
    superseded. The certificate service (in-process, its events through RabbitMQ) says so, and the
    resident reads that the first was replaced and until when the new one holds; no number."""
    enrollment_id, receipt = await _recorded(enrollment_api, 7105)
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="test", bootstrap_token=token,
                        data_dir=tmp_path / "certificate", log_json=False)
    app = certificate_app(settings)
    engine = create_engine(pg_url, application_name="ektp-test-certificate", pool_size=1)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60,
            headers={"Authorization": f"Bearer {token}"}) as api:
        try:
            async with make_sessionmaker(engine)() as session:
                await eventually(lambda: certificates.resident(session, uuid.UUID(enrollment_id)), timeout=60,
                                 what="the recording known to the certificate service")
                # the first, issued 40 days ago: it holds until another date than the new one
                first = await certificate.issue(session, None, settings, SigningKey.generate(),
                                                uuid.UUID(enrollment_id), actor="test",
                                                now=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
                await session.commit()
        finally:
            await engine.dispose()
        second = await api.post("/v1/certificates", json={"enrollment_id": enrollment_id})
        assert second.status_code == 201, second.text

        async def both_issued() -> dict | None:
            status = (await enrollment_api.get(f"/v1/status/{receipt}")).json()
            steps = [step["step"] for step in status["timeline"]]
            return status if steps.count("CERTIFICATE_ISSUED") == 2 else None

        status = await eventually(both_issued, timeout=60, what="both certificates on the timeline")
    old, new = first.valid_until, dt.date.fromisoformat(second.json()["valid_until"])
    assert old != new
    said = [(step["step"], step["text_id"], step["text_en"]) for step in status["timeline"]
            if step["step"].startswith("CERTIFICATE_")]
    assert said == [
        ("CERTIFICATE_ISSUED",
         f"Surat Keterangan pengganti KTP-el diterbitkan, berlaku sampai dengan {indonesian_date(old)}",
         f"Interim certificate issued, valid until {english_date(old)}"),
        ("CERTIFICATE_SUPERSEDED", "Surat Keterangan diganti dengan Surat Keterangan baru",
         "Interim certificate replaced by a new one"),
        ("CERTIFICATE_ISSUED",
         f"Surat Keterangan baru diterbitkan menggantikan yang lama, berlaku sampai dengan {indonesian_date(new)}",
         f"New interim certificate issued in place of the earlier one, valid until {english_date(new)}"),
    ]
    assert first.number not in str(status) and second.json()["number"] not in str(status)


async def test_a_revocation_stored_before_a_change_of_words_reads_in_todays_words(enrollment_api, pg_url):  # noqa: F811
    """A step keeps its event's code; the words of a revocation are today's for that code
    (shared.certificate.reasons), not those its event carried when the step was stored. A step
    stored without a code keeps the words it has."""
    enrollment_id, receipt = await _recorded(enrollment_api, 7106)
    await _events(
        pg_url, enrollment_id,
        # events of an earlier certificate service, whose words for card_issued were shorter
        ("certificate.revoked", {"number": "470/0002/Dukcapil/2026", "code": "card_issued",
                                 "reason": "KTP-el diserahkan / card handed over"}),
        ("certificate.revoked", {"number": "470/0003/Dukcapil/2026", "reason": "dicabut / revoked"}),
    )
    status = (await enrollment_api.get(f"/v1/status/{receipt}")).json()
    coded, uncoded = [step for step in status["timeline"] if step["step"] == "CERTIFICATE_REVOKED"]
    assert (coded["text_id"], coded["text_en"]) == (
        "Surat Keterangan dicabut: KTP-el sudah diserahkan kepada pemiliknya",
        "Interim certificate revoked: the KTP-el card has been handed over")
    assert coded["detail"]["reason"] == HANDED_OVER
    assert (uncoded["text_id"], uncoded["text_en"]) == ("Surat Keterangan dicabut: dicabut",
                                                        "Interim certificate revoked: revoked")
    assert uncoded["detail"]["reason"] == "dicabut / revoked"
