"""The certificate PDF as the dinas hands it over, through the service's route. In production it
is not printed without its signatory: the Kepala Dinas's name and NIP go into every PDF's
signature block, so while EKTP_DINAS_HEAD_NAME / EKTP_DINAS_HEAD_NIP hold the development
placeholder (or .env.example's CHANGE_ME) the PDF is refused with 503 `signatory_not_set` naming
them, in Indonesian and English. It states the card's places in capitals, the regency and the
province too. The certificate service in-process, in production, on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pypdfium2 as pdfium

from services.certificate import service
from services.certificate.app import create_app
from services.enrollment.service import place_names
from shared.db import create_engine, make_sessionmaker
from shared.keys import generate_key
from shared.messaging import Event
from shared.settings import Settings
from tests.certificate.test_certificate_policies import submitted
from tests.conftest import DATA_KEY


async def _pdf(pg_url: str, amqp_url: str, token: str, tmp_path: Path, event: Event | None = None,
               **dinas: str) -> httpx.Response:
    key_dir = tmp_path / "keys"
    if not key_dir.exists():
        generate_key(key_dir)  # production makes no key by itself
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="production", bootstrap_token=token,
                        data_key=DATA_KEY, data_dir=tmp_path, cert_key_dir=key_dir, log_json=False, **dinas)
    event = event or submitted(len(dinas) + 11)
    engine = create_engine(pg_url, application_name="ektp-test-resident", pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            await service.on_enrollment_submitted(session, event)
            await session.commit()
    finally:
        await engine.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as api:
            issued = await api.post("/v1/certificates", json={"enrollment_id": event.data["enrollment_id"]})
            assert issued.status_code == 201, issued.text  # issuing and verifying work without it
            return await api.get(f"/v1/certificates/{issued.json()['number']}/pdf")


async def test_no_pdf_in_production_without_the_kepala_dinas(pg_url, amqp_url, token, tmp_path):
    refused = await _pdf(pg_url, amqp_url, token, tmp_path)
    assert refused.status_code == 503, refused.text
    body = refused.json()
    assert body["error"] == "signatory_not_set"
    assert "EKTP_DINAS_HEAD_NAME, EKTP_DINAS_HEAD_NIP" in body["detail"]
    assert "Kepala Dinas belum diatur" in body["detail"] and "cannot be printed" in body["detail"]

    placeholders = await _pdf(pg_url, amqp_url, token, tmp_path, dinas_head_name="CHANGE_ME_name_of_the_head",
                              dinas_head_nip="19700101 199503 1 001")
    assert placeholders.status_code == 503 and "(EKTP_DINAS_HEAD_NAME)" in placeholders.json()["detail"]

    signed = await _pdf(pg_url, amqp_url, token, tmp_path, dinas_head_name="Drs. YOHANES B. NDOEN, M.Si.",
                        dinas_head_nip="19700101 199503 1 001", dinas_head_rank="Pembina Utama Muda (IV/c)")
    assert signed.status_code == 200 and signed.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(io.BytesIO(signed.content))
    text = document[0].get_textpage().get_text_range()
    assert "Drs. YOHANES B. NDOEN, M.Si." in text and "NIP. 19700101 199503 1 001" in text
    assert "set EKTP_DINAS_HEAD_NAME" not in text


async def test_the_pdf_states_the_card_places_in_capitals_with_regency_and_province(pg_url, amqp_url, token, tmp_path):
    event = submitted(21)
    record = event.data["record"]
    record["place_names"] = place_names(record["address"]["village_code"])  # as the counter adds them
    pdf = await _pdf(pg_url, amqp_url, token, tmp_path, event, dinas_head_name="Drs. YOHANES B. NDOEN, M.Si.",
                     dinas_head_nip="19700101 199503 1 001")
    assert pdf.status_code == 200, pdf.text
    text = " ".join(pdfium.PdfDocument(io.BytesIO(pdf.content))[0].get_textpage().get_text_range().split())
    names = record["place_names"]
    for label, name in (("Kel/Desa", names["village"]), ("Kecamatan", names["district"]),
                        ("Kabupaten/Kota", "KOTA KUPANG"), ("Provinsi", "NUSA TENGGARA TIMUR")):
        assert f"{label} : {name.upper()}" in text, (label, name)
    order = [text.index(f"{label} : ") for label in ("Kecamatan", "Kabupaten/Kota", "Provinsi", "Agama")]
    assert order == sorted(order)
