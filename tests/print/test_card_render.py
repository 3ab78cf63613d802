"""The card renderer: ID-1 size, fields drawn in order, refusals that name the field."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth

from services.print.card import CardData, render_card
from shared import regions
from shared.card.layout import CARD_H_MM, CARD_W_MM, VALUE_FONT, box, field

FRONT_ORDER = [
    ("province_line", "PROVINSI NUSA TENGGARA TIMUR"),
    ("regency", "KOTA KUPANG"),
    ("Nik", "5371044506900001"),
    ("Nama", "MARIA GORETI NDOLU"),
    ("Tempat/Tgl Lahir", "KUPANG, 05-06-1990"),
    ("Jenis Kelamin", "PEREMPUAN"),
    ("Gol. Darah", "O"),
    ("Alamat", "JL. FRANS SEDA NO. 12"),
    ("RT/RW", "003/005"),
    ("Kel/Desa", "FATULULI"),
    ("Kecamatan", "OEBOBO"),
    ("Agama", "KATHOLIK"),
    ("Status Perkawinan", "KAWIN"),
    ("Pekerjaan", "PEGAWAI NEGERI SIPIL"),
    ("Kewarganegaraan", "WNI"),
    ("Berlaku Hingga", "SEUMUR HIDUP"),
    ("issue_place", "KOTA KUPANG"),
    ("issue_date", "18-03-2024"),
]


def _png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_front_and_back_are_id1_at_300_dpi(card_data: CardData, artifacts_dir: Path) -> None:
    card = render_card(card_data, dpi=300)

    (artifacts_dir / "card-front.png").write_bytes(card.front_png)
    (artifacts_dir / "card-back.png").write_bytes(card.back_png)
    (artifacts_dir / "card.pdf").write_bytes(card.pdf)
    for png in (card.front_png, card.back_png):
        img = _png(png)
        assert img.size == card.size_px == (1012, 638)
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    doc = pdfium.PdfDocument(card.pdf)
    assert len(doc) == 2
    for page in doc:
        assert page.get_size() == pytest.approx((CARD_W_MM / 25.4 * 72, CARD_H_MM / 25.4 * 72), abs=0.01)
    doc.close()


def test_higher_dpi_scales_the_raster(card_data: CardData) -> None:
    card = render_card(card_data, dpi=600)
    assert _png(card.front_png).size == card.size_px == (2023, 1276)
    assert card.fields[0].bbox[2] > 1012


def test_front_fields_read_back_in_card_order(card_data: CardData) -> None:
    card = render_card(card_data)

    front = [f for f in card.fields if f.side == "front"]
    assert [(f.label.capitalize() if f.key == "nik" else f.label, f.value) for f in front] == FRONT_ORDER
    back = {f.key: f.value for f in card.fields if f.side == "back"}
    assert back["title"] == "KARTU TANDA PENDUDUK ELEKTRONIK"
    assert back["serial"] == card_data.serial


def test_field_boxes_are_on_the_card_top_to_bottom_and_clear_of_the_photo(card_data: CardData) -> None:
    card = render_card(card_data)
    w, h = card.size_px
    photo = card.boxes["photo"]
    front = [f for f in card.fields if f.side == "front"]
    for f in front:
        left, top, right, bottom = f.bbox
        assert 0 <= left < right <= w and 0 <= top < bottom <= h, f
    listed = [f for f in front if f.key not in ("province_line", "regency", "issue_place", "issue_date")]
    tops = [f.bbox[1] for f in listed]
    assert tops == sorted(tops)
    assert all(f.bbox[2] < photo[0] for f in listed)
    under_photo = [f for f in front if f.key in ("issue_place", "issue_date")]
    assert all(f.bbox[1] > photo[3] for f in under_photo)
    assert card.boxes["signature"][1] > under_photo[-1].bbox[3]


def test_the_field_is_really_drawn_where_fields_says(card_data: CardData) -> None:
    card = render_card(card_data)
    img = _png(card.front_png).convert("L")
    for f in card.fields:
        if f.side != "front":
            continue
        darkest, _ = img.crop(f.bbox).getextrema()
        assert darkest < 80, f"nothing dark drawn in the box of {f.key}"


def test_long_name_and_address_wrap_and_push_the_list_down(make_card: Any, artifacts_dir: Path) -> None:
    data = make_card(
        name="Yohanes Maximilianus Fransiskus Xaverius Bria Seran Nggadas",  # 59 characters
        street="Jl. Prof. Dr. Herman Johannes, Gg. Flamboyan II No. 117",
        religion="KEPERCAYAAN TERHADAP TUHAN YME",
    )
    card = render_card(data)
    (artifacts_dir / "card-front-long.png").write_bytes(card.front_png)

    by_key = {f.key: f for f in card.fields}
    assert by_key["name"].value == data.name.upper()
    row = by_key["birth"].bbox[3] - by_key["birth"].bbox[1]
    assert by_key["name"].bbox[3] - by_key["name"].bbox[1] > 1.8 * row  # two lines
    assert by_key["valid_until"].bbox[3] < card.size_px[1]
    short = {f.key: f for f in render_card(make_card()).fields}
    two_rows = 2 * (short["district"].bbox[1] - short["village"].bbox[1])
    assert by_key["valid_until"].bbox[1] - short["valid_until"].bbox[1] == pytest.approx(two_rows, abs=2)


def test_the_longest_village_wraps_and_with_name_and_street_on_two_lines_the_card_still_holds_the_list(
        make_card: Any, artifacts_dir: Path) -> None:
    villages = (name for code, name in regions._table().names.items() if code.count(".") == 3)
    village = max(villages, key=lambda n: stringWidth(n.upper(), VALUE_FONT, 5.6))
    assert village.upper() == "KAMPUANG TANJUANG KOTO MAMBANG SUNGAI DURIAN"  # 44 characters
    data = make_card(
        name="Yohanes Maximilianus Fransiskus Xaverius Bria Seran Nggadas",
        street="Jl. Prof. Dr. Herman Johannes, Gg. Flamboyan II No. 117",
        village=village,
        district="Buay Pematang Ribu Ranau Tengah",  # the table's longest kecamatan, on one line
    )
    card = render_card(data)
    (artifacts_dir / "card-front-long-village.png").write_bytes(card.front_png)

    by_key = {f.key: f for f in card.fields if f.side == "front"}
    assert by_key["village"].value == village.upper()
    row = by_key["birth"].bbox[3] - by_key["birth"].bbox[1]
    for key in ("name", "street", "village"):
        assert by_key[key].bbox[3] - by_key[key].bbox[1] > 1.8 * row, key  # two lines
    # Three rows on two lines push the rest of the list down three pitches ...
    short = {f.key: f for f in render_card(make_card()).fields}
    pitch = short["district"].bbox[1] - short["village"].bbox[1]
    assert by_key["valid_until"].bbox[1] - short["valid_until"].bbox[1] == pytest.approx(3 * pitch, abs=2)
    # ... and the last row stays on the card, its baseline at least 2.5 mm above the edge (as the
    # header's capitals are below the top), below the rows above it and left of the photo and the
    # signature.
    h = card.size_px[1]
    descent_px = -getAscentDescent(VALUE_FONT, 5.6)[1] / 72 * card.dpi
    baseline = by_key["valid_until"].bbox[3] - descent_px
    assert h - baseline >= 2.5 / 25.4 * card.dpi
    listed = [f for f in by_key.values() if f.key not in ("province_line", "regency", "nik", "issue_place",
                                                         "issue_date", "blood_type")]
    for upper, lower in zip(listed, listed[1:]):
        assert upper.bbox[3] <= lower.bbox[1] + 1, (upper.key, lower.key)  # no overlap
    for f in listed:
        assert f.bbox[2] < min(card.boxes["photo"][0], card.boxes["signature"][0]), f.key


@pytest.mark.parametrize(
    ("override", "field_name"),
    [
        ({"name": "A" * 61}, "Nama"),
        ({"occupation": "ANGGOTA DEWAN PERWAKILAN RAKYAT DAERAH"}, "Pekerjaan"),
        ({"birth_place": "KABUPATEN TIMOR TENGAH SELATAN XX"}, "Tempat/Tgl Lahir"),
        ({"village": "KELURAHAN " + "X" * 35}, "Kel/Desa"),  # 45 characters
        ({"village": "W" * 30 + " " + "W" * 13}, "Kel/Desa"),  # 44 characters, too wide for its lines
        ({"name": "W" * 45 + " " + "W" * 10}, "Nama"),  # within 60 characters, too wide to print
        ({"street": "JL. \u4eac\u90fd"}, "Alamat"),  # not printable in the card's font
    ],
)
def test_a_value_that_does_not_fit_names_its_field(make_card: Any, override: dict[str, str], field_name: str) -> None:
    with pytest.raises(ValueError, match=field_name):
        render_card(make_card(**override))


def test_limits_are_published_for_the_counter() -> None:
    assert field("name").max_chars == 60
    assert field("nik").max_chars == 16
    assert field("religion").max_chars >= len("KEPERCAYAAN TERHADAP TUHAN YME")


def test_bad_photo_is_refused(make_card: Any) -> None:
    with pytest.raises(ValueError, match="photo"):
        render_card(make_card(photo_jpeg=b"not a jpeg"))


def test_card_without_signature_and_chip_code(make_card: Any) -> None:
    card = render_card(make_card(signature_image=None))
    assert set(card.boxes) == {"photo"}


def test_chip_code_on_the_back_references_the_record(card_data: CardData) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from services.print.card.render import chip_code_payload

    record = b'{"example":"record"}'
    card = render_card(card_data, chip_record=record)
    assert card.boxes["chip_code"] == pytest.approx(
        tuple(round(v / 25.4 * 300) for v in (box("chip_code").x, box("chip_code").y,
                                               box("chip_code").x + 20, box("chip_code").y + 20)), abs=1)
    results = zxingcpp.read_barcodes(_png(card.back_png))
    assert [r.text for r in results] == [chip_code_payload(card_data.serial, record)]


def test_render_is_deterministic(card_data: CardData) -> None:
    assert render_card(card_data).pdf == render_card(card_data).pdf


def _drawn_width(pdf: bytes, text: str) -> float:
    """Width in pt of `text` as drawn on the front page (its first occurrence)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        textpage = page.get_textpage()
        found = textpage.search(text, match_case=True).get_next()
        assert found is not None, text
        start, count = found
        return textpage.get_charbox(start + count - 1)[2] - textpage.get_charbox(start)[0]
    finally:
        doc.close()


def test_a_condensed_value_leaves_the_labels_below_it_at_their_width(make_card: Any) -> None:
    # A street of wide letters is condensed to fit its two lines; the labels drawn after it are not:
    # the condensing (the PDF's text horizontal scale) ends with the value's own lines. Before, it
    # stayed set, and 'RT/RW' and every label below it printed squeezed like the street.
    street = "JL. WWWWWWWWW WWWWWWWWW MMMMMMMMMM WWWWWWWW NO. 1234 BLOK WW"  # 60 characters
    plain = render_card(make_card()).pdf
    squeezed = render_card(make_card(street=street)).pdf
    for label in ("RT/RW", "Kel/Desa", "Berlaku Hingga"):
        assert _drawn_width(squeezed, label) == pytest.approx(_drawn_width(plain, label), abs=0.05), label
