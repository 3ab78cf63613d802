"""Settings the service refuses to start with."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings


@pytest.mark.parametrize("city", ["Kupang", "Kota Kupang", "Tanjung Balai Karimun", "Kotamobagu"])
def test_a_city_that_fits_under_the_photo_is_taken(city: str) -> None:
    assert Settings(dinas_city=city).dinas_city == city


@pytest.mark.parametrize(("city", "reason"), [
    ("Kabupaten Kepulauan Siau Tagulandang", "at most 24 fit"),  # 36 characters
    ("W" * 24, "too wide"),  # 24 characters, but of the widest letter
])
def test_a_city_that_would_hold_every_card_at_print_is_refused(city: str, reason: str) -> None:
    with pytest.raises(ValidationError) as e:
        Settings(dinas_city=city)
    (error,) = e.value.errors()
    assert error["loc"] == ("dinas_city",)
    assert "printed under the photo on every card" in error["msg"] and reason in error["msg"]
