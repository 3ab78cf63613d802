"""Authorisation per site: a kecamatan's credential acts for its own site only (revocation: tests/security/
test_credential_cache.py)."""

from __future__ import annotations

import pytest

from services.enrollment.validation import check_served
from shared.errors import InvalidInput
from shared.sites import dinas_sites, require_known, served
from tests.enrollment import factories
from tests.enrollment.service_app import credentials, enrollment_api  # noqa: F401 (fixtures)
from tests.support.api import as_, recording

OEBOBO, KOTA_RAJA = "53.71.04", "53.71.05"


async def test_a_station_posts_only_recordings_of_its_own_site(enrollment_api, credentials):
    _, station_token = await credentials.create("station", OEBOBO)
    own, other = recording(2001, pickup_site=OEBOBO), recording(2002, pickup_site=KOTA_RAJA)
    async with as_(enrollment_api, station_token) as station:
        refused = await station.post("/v1/enrollments", json=other)
        assert refused.status_code == 403 and refused.json()["error"] == "wrong_site"
        assert (await station.post("/v1/enrollments", json=own)).status_code == 201

        answer = (await station.post("/v1/enrollments/batch", json=[other, recording(2003, pickup_site=OEBOBO)])).json()
        assert [i["status"] for i in answer["items"]] == [403, 201]
        assert answer["items"][0]["error"]["error"] == "wrong_site"

        # A station may not read the register.
        assert (await station.get("/v1/enrollments")).status_code == 403
    # Nothing of Kota Raja was recorded.
    page = (await enrollment_api.get("/v1/enrollments", params={"site": KOTA_RAJA})).json()
    assert page["total"] == 0


async def test_a_kecamatan_operator_sees_only_its_site(enrollment_api, credentials):
    ours = [recording(2020 + i, pickup_site=OEBOBO) for i in range(2)]
    theirs = recording(2030, pickup_site=KOTA_RAJA)
    answer = (await enrollment_api.post("/v1/enrollments/batch", json=[*ours, theirs])).json()
    assert [i["status"] for i in answer["items"]] == [201, 201, 201]
    their_id = answer["items"][2]["enrollment"]["id"]

    _, operator_token = await credentials.create("kecamatan_operator", OEBOBO)
    async with as_(enrollment_api, operator_token) as operator:
        page = (await operator.get("/v1/enrollments")).json()
        assert page["total"] == 2 and {e["pickup_site"] for e in page["items"]} == {OEBOBO}
        by_nik = (await operator.get("/v1/enrollments", params={"nik": theirs["nik"]})).json()
        assert by_nik["total"] == 0
        other = await operator.get("/v1/enrollments", params={"site": KOTA_RAJA})
        assert other.status_code == 403 and other.json()["error"] == "wrong_site"
        assert (await operator.get(f"/v1/enrollments/{their_id}")).status_code == 403
        stats = (await operator.get("/v1/enrollments/stats")).json()
        assert stats["site"] == OEBOBO and stats["total"] == 2 and list(stats["by_site"]) == [OEBOBO]
        assert (await operator.get("/v1/enrollments/stats", params={"site": KOTA_RAJA})).status_code == 403

    # The dinas sees the whole city.
    stats = (await enrollment_api.get("/v1/enrollments/stats")).json()
    assert stats["total"] == 3 and stats["by_status"] == {"RECEIVED": 3}
    assert stats["by_site"] == {OEBOBO: {"RECEIVED": 2}, KOTA_RAJA: {"RECEIVED": 1}}


async def test_a_kecamatan_finds_what_it_recorded_and_what_is_picked_up_there(enrollment_api, credentials):
    """A resident recorded at Oebobo who collects the card at Kota Raja: both kecamatan find the record
    (the search filtered on the pickup site only: Oebobo's station's work was not in Oebobo's list)."""
    rec = recording(2040, pickup_site=KOTA_RAJA)
    rec["recording"]["site"] = OEBOBO
    created = (await enrollment_api.post("/v1/enrollments", json=rec)).json()
    for site in (OEBOBO, KOTA_RAJA):
        _, token = await credentials.create("kecamatan_operator", site)
        async with as_(enrollment_api, token) as operator:
            page = (await operator.get("/v1/enrollments")).json()
            assert [e["id"] for e in page["items"]] == [created["id"]], site
            assert (await operator.get(f"/v1/enrollments/{created['id']}")).status_code == 200


async def test_an_unknown_status_filter_is_refused_naming_the_known_ones(enrollment_api):
    response = await enrollment_api.get("/v1/enrollments", params={"status": "BOGUS"})
    assert response.status_code == 422
    (field,) = response.json()["fields"]
    assert field["field"] == "query.status" and field["code"] == "field.enum" and "PRINTED" in field["message_en"]


async def test_a_pickup_site_outside_the_dinas_is_refused_at_the_counter(enrollment_api):
    """A kecamatan of another regency is a real site, but no print server of this dinas would ever
    print the card: refused now, naming the field, rather than waiting in a queue nobody serves."""
    bandung = "32.73.01"  # a kecamatan of Kota Bandung
    rec = {**recording(2050, pickup_site=OEBOBO), "pickup_site": bandung}
    refused = await enrollment_api.post("/v1/enrollments", json=rec)
    assert refused.status_code == 422, refused.text
    [field] = [f for f in refused.json()["fields"] if f["severity"] == "error"]
    assert (field["field"], field["code"]) == ("pickup_site", "pickup_site.not_served")
    assert bandung in field["message_en"] and "53.71.04" in field["message_en"] and bandung in field["message_id"]
    served_id, served_en = served(dinas_sites("53.71"))
    assert served_id in field["message_id"] and served_en in field["message_en"]

    answer = (await enrollment_api.post("/v1/enrollments/batch", json=[rec, recording(2051, pickup_site=OEBOBO)])).json()
    assert [i["status"] for i in answer["items"]] == [422, 201]
    page = (await enrollment_api.get("/v1/enrollments", params={"site": bandung})).json()
    assert page["total"] == 0


def test_a_site_unknown_here_and_a_pickup_site_not_served_name_the_dinas_sites_in_the_same_words():
    """The print service's refusal of a site (shared.sites.require_known) and the counter's of a pickup
    site (the enrollment service's and a station's) list the sites served from one wording."""
    kupang, bandung = dinas_sites("53.71"), "32.73.01"
    served_id, served_en = served(kupang)
    assert served_en == ("the dinas 53.71 or one of its kecamatan "
                         "(53.71.01, 53.71.02, 53.71.03, 53.71.04, 53.71.05, 53.71.06)")
    with pytest.raises(InvalidInput) as refused:
        require_known(kupang, ("to_site", bandung))
    [unknown] = refused.value.fields
    assert unknown.message_id == f"Lokasi {bandung} tidak dikenal: bukan {served_id}."
    assert unknown.message_en == f"Site {bandung} is not known: it is not {served_en}."
    [not_served] = check_served(factories.recording({"pickup_site": bandung}), kupang)
    assert not_served.code == "pickup_site.not_served"
    assert not_served.message_id == (f"Lokasi pengambilan {bandung} tidak dilayani di sini: kartu hanya dicetak dan "
                                     f"diambil di {served_id}.")
    assert not_served.message_en == (f"Pickup site {bandung} is not served here: cards are printed and collected "
                                     f"only at {served_en}.")
