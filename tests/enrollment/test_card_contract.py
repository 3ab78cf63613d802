"""The counter's promise: a recording it accepts is a card the print service can print, and what
it refuses as too long or too wide for the card the renderer could not print either. Names,
birth places, streets and occupations of every length and width, checked by the counter
(enrollment validation) and rendered by the print service's renderer."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.enrollment.validation import check_recording
from services.print.card import render_card
from tests.print.conftest import make_card_data

from .factories import NOW, TODAY, changed

BIRTH_DATE = dt.date(1990, 6, 5)  # the factory's resident, whose NIK says so
CARD_FIELDS = {"name": "name", "birth_place": "birth_place", "address.street": "street", "occupation": "occupation"}
# Narrow (I, L, T), middling and wide (M, W) capitals, so lengths under the limit can still be too wide.
word = st.text(alphabet="AEIKLMNOSTUW", min_size=1, max_size=32)
text = st.lists(word, min_size=1, max_size=8).map(" ".join)
PHOTO = make_card_data().photo_jpeg


def counter_refuses(values: dict[str, str]) -> set[str]:
    rec = changed({**values, "birth_date": BIRTH_DATE.isoformat()})
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
