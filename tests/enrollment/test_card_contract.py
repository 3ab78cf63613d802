"""The counter's promise: a recording it accepts is a card the print service can print, and what
it refuses as too long or too wide for the card the renderer could not print either. Names,
birth places, streets and occupations of every length and width, checked by the counter
(enrollment validation) and rendered by the print service's renderer; and every place name of
the region table, which the counter takes as it is (a known village code is accepted)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.enrollment.validation import check_recording
from services.print.card import render_card
from services.print.card.data import card_values
from shared import regions
from shared.card.fit import DoesNotFit, fit
from shared.card.layout import FIELDS
from tests.print.conftest import make_card_data

from .factories import NOW, TODAY, recording

BIRTH_DATE = dt.date(1990, 6, 5)  # the factory's resident, whose NIK says so
CARD_FIELDS = {"name": "name", "birth_place": "birth_place", "address.street": "street", "occupation": "occupation"}
# Narrow (I, L, T), middling and wide (M, W) capitals, so lengths under the limit can still be too wide.
word = st.text(alphabet="AEIKLMNOSTUW", min_size=1, max_size=32)
text = st.lists(word, min_size=1, max_size=8).map(" ".join)
PHOTO = make_card_data().photo_jpeg


def counter_refuses(values: dict[str, str]) -> set[str]:
    rec = recording({**values, "birth_date": BIRTH_DATE.isoformat()})
    return {p.field for p in check_recording(rec, today=TODAY, now=NOW)
            if p.severity == "error" and p.field in CARD_FIELDS}


def printer_refuses(values: dict[str, str]) -> bool:
    card = make_card_data(photo_jpeg=PHOTO, birth_date=BIRTH_DATE,
                          **{CARD_FIELDS[path]: value for path, value in values.items()})
    try:
        render_card(card, dpi=72)
    except ValueError:
        return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(CARD_FIELDS)), value=text)
def test_the_counter_accepts_exactly_what_the_card_can_print(field: str, value: str) -> None:
    refused = counter_refuses({field: value})
    assert refused <= {field}
    assert bool(refused) == printer_refuses({field: value}), (field, value, refused)


# A region of each level, the CardData field it is given in and the card field it is printed in.
PLACE_FIELDS = {1: ("province", "province_line"), 2: ("regency", "regency"), 3: ("district", "district"),
                4: ("village", "village")}


def test_every_place_of_the_region_table_fits_its_field_on_the_card() -> None:
    """The counter accepts any village of the table and the card prints its names (province,
    regency, kecamatan, kelurahan/desa) as they are: a name that did not fit would hold that
    resident's card at print for good."""
    base = make_card_data(photo_jpeg=PHOTO)
    places = {f.key: f for f in FIELDS}
    names = {(code.count(".") + 1, name) for code, name in regions._table().names.items()}
    assert len(names) > 60_000
    refused = []
    for level, name in sorted(names):
        attr, key = PLACE_FIELDS[level]
        value = card_values(dataclasses.replace(base, **{attr: name}))[key]  # as the card prints it
        try:
            fit(places[key], value)
        except DoesNotFit as e:
            refused.append((key, value, e.reason))
    assert refused == []
