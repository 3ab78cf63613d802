"""Issue -> PDF -> PNG (saved under artifacts/certificate/) -> QR -> offline verification."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from services.certificate.document import (
    card_fields,
    certificate_number,
    indonesian_date,
    render_pdf,
)
from shared.certificate.offline import extract_token, render_pdf_page, verify_offline
from shared.certificate.token import Reason, TokenError
from shared.keys import KeySet, SigningKey, jwks, keys_from_jwks, load_public_keys


def _text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].get_textpage().get_text_range()
    finally:
        document.close()


def test_issue_render_rasterise_decode_verify(build, signing_key, key_dir):
    document = build.document(signing_key)
    pdf = render_pdf(document)
    assert pdf.startswith(b"%PDF")
    assert len(pdfium.PdfDocument(pdf)) == 1

    png = build.artifacts / "suket-470-0001-2026.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    page = render_pdf_page(pdf, dpi=200, grayscale=False)
    assert page.size == (1654, 2339)  # A4 at 200 dpi
    page.save(png)
    (build.artifacts / "suket-470-0001-2026.pdf").write_bytes(pdf)

    assert extract_token(png) == document.token
    published = keys_from_jwks(jwks(load_public_keys(key_dir)))  # what a verifier downloads
    verified = verify_offline(png, published, now=build.now)
    assert verified.kid == signing_key.kid
    assert verified.claims.number == "470/0001/Dukcapil/2026"
    assert verified.claims.masked_nik == "5371********0001"
    assert verified.claims.name == "MARIA GORETTI FANGGIDAE"

    assert verify_offline(pdf, published, now=build.now).token == document.token  # PDF bytes
    assert verify_offline(png.read_bytes(), published, now=build.now).kid == signing_key.kid
    assert verify_offline(document.token, published, now=build.now).kid == signing_key.kid


def test_pdf_states_every_field_in_card_order(build, signing_key):
    document = build.document(signing_key)
    text = _text(render_pdf(document))
    for expected in (
        "PEMERINTAH KOTA KUPANG",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        "SURAT KETERANGAN PENGGANTI KTP-el",
        "Nomor: 470/0001/Dukcapil/2026",
        "telah melakukan perekaman KTP-el",
        "database",
        "28 Mei 2027",
        "Kupang, 28 November 2026",
        "Ditandatangani secara",
        "Drs. YOHANES B. NDOEN, M.Si.",
        "NIP. 19700101 199503 1 001",
        document.verify_url,
        document.key_fingerprint,
    ):
        assert expected in text, expected
    positions = [text.index(label) for label, _ in card_fields(document.resident)]
    assert positions == sorted(positions)
    for _, value in card_fields(document.resident):
        assert value.split(",")[0] in text


def test_a_scanned_copy_still_verifies(build, signing_key):
    """120 dpi, rotated 3 degrees, lossy JPEG: a cheap scan or phone photo of the paper."""
    resident = build.resident(name=("YOHANES " + "FANGGIDAE " * 5 + "NDOEN")[:60])  # 60 characters
    assert len(resident.name) == 60
    document = build.document(signing_key, resident)
    page = render_pdf_page(render_pdf(document), dpi=120).rotate(3, expand=True, fillcolor=255)
    scan = io.BytesIO()
    page.save(scan, "JPEG", quality=55)
    verified = verify_offline(scan.getvalue(), KeySet.of(signing_key.public_key), now=build.now)
    assert verified.claims.name == resident.name


def test_certificate_from_a_rotated_out_key_is_unknown_to_another_key_set(build, signing_key):
    pdf = render_pdf(build.document(signing_key))
    with pytest.raises(TokenError) as caught:
        verify_offline(pdf, KeySet.of(SigningKey.generate().public_key), now=build.now)
    assert caught.value.reason == Reason.UNKNOWN_KEY


def test_expired_certificate_pdf(build, signing_key):
    pdf = render_pdf(build.document(signing_key))
    with pytest.raises(TokenError) as caught:
        verify_offline(pdf, KeySet.of(signing_key.public_key), now=dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
    assert caught.value.reason == Reason.EXPIRED


def test_image_without_qr_is_unreadable(build, signing_key):
    blank = io.BytesIO()
    Image.new("L", (400, 400), 255).save(blank, "PNG")
    with pytest.raises(TokenError) as caught:
        verify_offline(blank.getvalue(), KeySet.of(signing_key.public_key), now=build.now)
    assert caught.value.reason == Reason.UNREADABLE
    with pytest.raises(TokenError) as caught:
        extract_token(b"%PDF-1.4 broken")
    assert caught.value.reason == Reason.UNREADABLE


def test_text_that_is_neither_token_nor_file_is_malformed(signing_key, build):
    with pytest.raises(TokenError) as caught:
        verify_offline("/no/such/file.png", KeySet.of(signing_key.public_key), now=build.now)
    assert caught.value.reason == Reason.MALFORMED


def test_bad_photo_is_refused(build, signing_key):
    document = dataclasses.replace(build.document(signing_key), photo_jpeg=b"not a jpeg")
    with pytest.raises(ValueError, match="photo"):
        render_pdf(document)


def test_dinas_identity_comes_from_the_caller(build, signing_key):
    document = build.document(signing_key)
    other = dataclasses.replace(
        document.dinas, region_name="Kabupaten Kupang", city="Oelamasi", address="Jalan Timor Raya, Oelamasi"
    )
    text = _text(render_pdf(dataclasses.replace(document, dinas=other)))
    assert "PEMERINTAH KABUPATEN KUPANG" in text
    assert "Oelamasi, 28 November 2026" in text
    assert "PEMERINTAH KOTA KUPANG" not in text


def test_indonesian_dates_and_numbers():
    assert indonesian_date(dt.date(2026, 11, 28)) == "28 November 2026"
    assert indonesian_date(dt.date(2027, 5, 1)) == "1 Mei 2027"
    assert indonesian_date(dt.date(2027, 8, 17)) == "17 Agustus 2027"
    assert certificate_number(1, 2026) == "470/0001/Dukcapil/2026"
    assert certificate_number(12345, 2026) == "470/12345/Dukcapil/2026"


def test_document_repr_leaves_out_photo_and_token(build, signing_key):
    document = build.document(signing_key)
    assert document.token not in repr(document)
    assert document.key_id == signing_key.kid


def test_longest_fields_wrap_and_stay_clear_of_the_footer(build, signing_key):
    resident = build.resident(
        name="MARIA IMMACULATA CHRISTINA FANGGIDAE NDOEN SERAN BANOET LIU",
        street="JL. PROF. DR. HERMAN JOHANNES NO. 117, KOMPLEKS PERUMAHAN BTN KOLHUA BLOK C NO. 12, "
        "DI BELAKANG GEREJA KATOLIK SANTO YOSEPH",
        occupation="PENSIUNAN PEGAWAI NEGERI SIPIL / TENTARA NASIONAL INDONESIA / KEPOLISIAN",
    )
    pdf = render_pdf(build.document(signing_key, resident, sequence=2))
    page = render_pdf_page(pdf, dpi=200, grayscale=False)
    page.save(build.artifacts / "suket-470-0002-2026-long-fields.png")
    text = _text(pdf)
    words = " ".join(text.split())
    assert resident.street in words and resident.occupation in words and resident.name in words
    # The NIP line (lowest text of the signature block) sits above the footer rule (21 mm).
    document = pdfium.PdfDocument(pdf)
    textpage = document[0].get_textpage()
    nip = text.index("NIP. ")
    _, bottom, _, _ = textpage.get_charbox(nip)
    assert bottom > 21 * 72 / 25.4 + 4
    assert verify_offline(page, KeySet.of(signing_key.public_key), now=build.now).claims.name == resident.name


def test_a_word_longer_than_its_line_breaks_inside_the_margins(build, signing_key):
    # A mononym of 60 letters (old records: accepted with a warning) and a street without spaces:
    # both must wrap, not run past the right margin and off the page.
    resident = build.resident(name="W" * 60, street="JL.SOEKARNO-HATTA/GANG-KELINCI/BLOK-C/NOMOR-117/KOLHUA")
    pdf = render_pdf(build.document(signing_key, resident, sequence=3))
    build.artifacts.mkdir(parents=True, exist_ok=True)
    render_pdf_page(pdf, dpi=200, grayscale=False).save(build.artifacts / "suket-470-0003-2026-long-word.png")
    document = pdfium.PdfDocument(pdf)
    textpage = document[0].get_textpage()
    page_width = document[0].get_width()
    text = textpage.get_text_range()
    right_margin = page_width - 20 * 72 / 25.4
    widest = max(textpage.get_charbox(i)[2] for i in range(len(text)) if not text[i].isspace())
    assert widest <= right_margin + 0.5, f"text reaches {widest:.0f} pt, the margin is at {right_margin:.0f} pt"
    assert "".join(text.split()).count("W" * 60) == 1  # all of it printed, on consecutive lines
    assert verify_offline(pdf, KeySet.of(signing_key.public_key), now=build.now).claims.name == resident.name


def test_places_print_as_on_the_card_and_sex_and_blood_type_share_a_row(build, signing_key):
    # The region table's longest village, its names in its own case ("Kelapa Lima"), and the
    # card's row "Jenis Kelamin : LAKI-LAKI   Gol. Darah : AB+".
    resident = build.resident(
        sex="LAKI-LAKI", blood_type="AB+", village="Kampuang Tanjuang  Koto Mambang Sungai Durian",
        kecamatan="Buay Pematang Ribu Ranau Tengah", regency="Kabupaten Administrasi Kepulauan Seribu",
        province="Daerah Khusus Ibukota Jakarta",
    )
    pdf = render_pdf(build.document(signing_key, resident, sequence=4))
    build.artifacts.mkdir(parents=True, exist_ok=True)
    render_pdf_page(pdf, dpi=200, grayscale=False).save(build.artifacts / "suket-470-0004-2026-long-places.png")
    document = pdfium.PdfDocument(pdf)
    textpage = document[0].get_textpage()
    text = textpage.get_text_range()
    words = " ".join(text.split())
    for line in ("Kel/Desa : KAMPUANG TANJUANG KOTO MAMBANG SUNGAI DURIAN",
                 "Kecamatan : BUAY PEMATANG RIBU RANAU TENGAH",
                 "Kabupaten/Kota : KABUPATEN ADMINISTRASI KEPULAUAN SERIBU",
                 "Provinsi : DAERAH KHUSUS IBUKOTA JAKARTA",
                 "Jenis Kelamin : LAKI-LAKI Gol. Darah : AB+"):
        assert line in words, line
    sex, blood, street = (text.index(label) for label in ("Jenis Kelamin", "Gol. Darah", "Alamat"))
    assert textpage.get_charbox(blood)[1] == pytest.approx(textpage.get_charbox(sex)[1], abs=0.5)  # one baseline
    assert textpage.get_charbox(street)[1] < textpage.get_charbox(sex)[1] - 10  # the next row below
    right_margin = document[0].get_width() - 20 * 72 / 25.4
    widest = max(textpage.get_charbox(i)[2] for i in range(len(text)) if not text[i].isspace())
    assert widest <= right_margin + 0.5, f"text reaches {widest:.0f} pt, the margin is at {right_margin:.0f} pt"
