"""POST /v1/enrollments/batch: per-item answers, replays, conflicts, NDJSON + gzip, limits."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json

from services.enrollment import batch, service
from services.enrollment.views import batch_view
from shared.auth.principal import Principal, Role
from shared.sites import dinas_sites
from tests.enrollment.service_app import credentials, enrollment_api, total_at  # noqa: F401 (fixtures)
from tests.support.api import recording

SITE = "53.71.04"


def recordings(n: int, start: int = 0) -> list[dict]:
    return [recording(1000 + start + i, pickup_site=SITE) for i in range(n)]


async def test_mixed_valid_and_invalid_items_are_answered_one_by_one(enrollment_api):
    good = recordings(3)
    bad_nik = {**recordings(1, start=10)[0], "nik": "5371041234"}
    no_key = {k: v for k, v in recordings(1, start=11)[0].items() if k != "station_recording_id"}
    items = [good[0], good[1], bad_nik, good[2], no_key, "not a recording"]

    response = await enrollment_api.post("/v1/enrollments/batch", json=items)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert [i["status"] for i in answer["items"]] == [201, 201, 422, 201, 422, 422]
    assert [i["index"] for i in answer["items"]] == list(range(6))
    assert (answer["created"], answer["replayed"], answer["refused"]) == (3, 0, 3)
    for item, rec in zip([answer["items"][i] for i in (0, 1, 3)], good):
        assert item["station_recording_id"] == rec["station_recording_id"]
        assert item["receipt_number"] == item["enrollment"]["receipt_number"]
        assert item["enrollment"]["status"] == "RECEIVED"
    # A refused item carries the one error shape, naming the field in both languages.
    nik_error = answer["items"][2]["error"]
    assert nik_error["error"] == "invalid_input"
    assert any(f["field"] == "nik" and f["message_id"] and f["message_en"] for f in nik_error["fields"])
    assert [f["field"] for f in answer["items"][4]["error"]["fields"]] == ["station_recording_id"]
    assert answer["items"][5]["error"]["fields"]
    assert await total_at(enrollment_api, SITE) == 3
    # Each created item's receipt answers on the public status page.
    status = await enrollment_api.get(f"/v1/status/{answer['items'][0]['receipt_number']}")
    assert status.status_code == 200 and status.json()["status"] == "RECEIVED"


async def test_a_resent_batch_replays_and_a_reused_key_with_another_body_is_409(enrollment_api):
    batch = recordings(4, start=20)
    first = (await enrollment_api.post("/v1/enrollments/batch", json=batch)).json()
    assert [i["status"] for i in first["items"]] == [201] * 4

    changed = copy.deepcopy(batch[1])
    changed["occupation"] = "PETANI"
    again = (await enrollment_api.post("/v1/enrollments/batch", json=[batch[0], changed, batch[2], batch[3]])).json()

    assert [i["status"] for i in again["items"]] == [200, 409, 200, 200]
    assert [i["receipt_number"] for i in again["items"][2:]] == [i["receipt_number"] for i in first["items"][2:]]
    conflict = again["items"][1]["error"]
    assert conflict["error"] == "idempotency_key_reused"
    assert conflict["receipt_number"] == first["items"][1]["receipt_number"]
    assert await total_at(enrollment_api, SITE) == 4

    # The single endpoint shares the keys: the same recording posted alone is a replay too.
    single = await enrollment_api.post("/v1/enrollments", json=batch[3])
    assert single.status_code == 200 and single.json()["receipt_number"] == first["items"][3]["receipt_number"]


async def test_a_resent_batch_replays_what_todays_rules_would_refuse_without_checking_it_again(
        enrollment_api, monkeypatch):
    # Accepted once, the answer lost on a cut link; the station re-sends the batch when the counter
    # rules say otherwise (here: checked as of a day before the residents were born, as a changed
    # rule or region table would). What was created replays its first answer, unchecked; a new
    # recording in the same batch is checked, and refused.
    sent = recordings(2, start=40)
    first = (await enrollment_api.post("/v1/enrollments/batch", json=sent)).json()
    assert [i["status"] for i in first["items"]] == [201, 201]
    new = recordings(1, start=42)[0]
    too_early = min(dt.date.fromisoformat(r["birth_date"]) for r in [*sent, new]) - dt.timedelta(days=1)

    checked: list[str] = []
    counter_check = service.counter_check
    monkeypatch.setattr(service, "counter_check",
                        lambda rec, today, sites: checked.append(rec.station_recording_id)
                        or counter_check(rec, today, sites))
    ctx = enrollment_api.app.state.contexts["enrollment"]
    principal = Principal(id="station", name="station", role=Role.STATION, site=SITE)
    async with ctx.sessions() as session:
        answers = await batch.submit_batch(session, principal, [*sent, new], today=too_early,
                                           sites=dinas_sites("53.71"))
    view = batch_view(answers)  # the replayed rows stay readable once the session is gone

    assert [i.status for i in view.items] == [200, 200, 422]
    assert [i.receipt_number for i in view.items[:2]] == [i["receipt_number"] for i in first["items"]]
    assert "birth_date" in {f.field for f in view.items[2].error.fields}
    assert checked == [new["station_recording_id"]]
    assert await total_at(enrollment_api, SITE) == 2


async def test_the_same_key_twice_in_one_batch(enrollment_api):
    rec, other = recordings(2, start=30)
    clash = {**other, "station_recording_id": rec["station_recording_id"]}
    answer = (await enrollment_api.post("/v1/enrollments/batch", json=[rec, rec, clash])).json()

    assert [i["status"] for i in answer["items"]] == [201, 200, 409]
    assert answer["items"][0]["receipt_number"] == answer["items"][1]["receipt_number"]
    assert answer["items"][2]["error"]["error"] == "idempotency_key_reused"
    assert await total_at(enrollment_api, SITE) == 1


async def test_ndjson_with_gzip(enrollment_api):
    batch = recordings(5, start=40)
    body = gzip.compress("\n".join(json.dumps(r) for r in batch).encode() + b"\n")
    headers = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}

    answer = (await enrollment_api.post("/v1/enrollments/batch", content=body, headers=headers)).json()

    assert [i["status"] for i in answer["items"]] == [201] * 5
    assert await total_at(enrollment_api, SITE) == 5
    # A line that is not JSON is refused alone.
    body = ("\n".join(json.dumps(r) for r in batch[:2]) + "\n{not json\n").encode()
    answer = (await enrollment_api.post("/v1/enrollments/batch", content=body,
                                        headers={"Content-Type": "application/x-ndjson"})).json()
    assert [i["status"] for i in answer["items"]] == [200, 200, 422]
    assert answer["items"][2]["error"]["error"] == "invalid_json"


async def test_a_gzip_body_of_several_members_is_read_to_the_end(enrollment_api):
    # `cat a.gz b.gz`: two gzip members one after another; every recording of both is answered.
    batch = recordings(4, start=50)
    members = [gzip.compress("".join(json.dumps(r) + "\n" for r in part).encode()) for part in (batch[:3], batch[3:])]
    headers = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}

    answer = (await enrollment_api.post("/v1/enrollments/batch", content=b"".join(members), headers=headers)).json()

    assert [i["status"] for i in answer["items"]] == [201] * 4
    assert await total_at(enrollment_api, SITE) == 4
    # A member cut short, or bytes after a member that are not one, refuse the body: nothing is written.
    for body in (members[0] + members[1][:-4], members[0] + b"not gzip at all"):
        refused = await enrollment_api.post("/v1/enrollments/batch", content=body, headers=headers)
        assert refused.status_code == 422 and refused.json()["error"] == "invalid_gzip", refused.text
    assert await total_at(enrollment_api, SITE) == 4


def test_ndjson_lines():
    # CRLF line ends, blank and whitespace-only lines, no newline at the end; `null` is an item
    # (refused later as not a recording), a line that is not JSON is one too.
    body = b'{"a": 1}\r\n\n   \r\n[2]\nnull\n{not json \xff\n\t\n"last"'
    items = batch.split_items(body, "ndjson")
    assert items[:3] == [{"a": 1}, [2], None]
    assert isinstance(items[3], batch._BadLine) and items[3].start == "{not json \ufffd"
    assert items[4:] == ["last"]
    assert batch.split_items(bytearray(b"{}\n"), "ndjson") == [{}]


def test_a_byte_order_mark_at_the_start_is_not_json():
    # A file saved "UTF-8 with BOM" and posted as it is (`ektp station` strips it when it queues).
    bom = "\ufeff".encode()
    assert batch.split_items(bom + b'{"a": 1}\n{"b": 2}', "ndjson") == [{"a": 1}, {"b": 2}]
    assert batch.split_items(bytearray(bom + b'[{"a": 1}]'), "json") == [{"a": 1}]
    assert isinstance(batch.split_items(b'{"a": 1}\n' + bom + b'{"b": 2}', "ndjson")[1], batch._BadLine)


async def test_limits_and_content_types(enrollment_api):
    too_many = await enrollment_api.post("/v1/enrollments/batch", json=[{}] * 1001)
    assert too_many.status_code == 413
    assert too_many.json()["error"] == "too_many_items"

    # A gzip bomb: 64 MiB of zeros in a few KB is refused before it is inflated.
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]")
    response = await enrollment_api.post("/v1/enrollments/batch", content=bomb,
                                         headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 413 and response.json()["error"] == "too_large"

    big = await enrollment_api.post("/v1/enrollments/batch", content=b"x",
                                    headers={"Content-Type": "application/json",
                                             "Content-Length": str(100 * 1024 * 1024)})
    assert big.status_code == 413

    wrong_type = await enrollment_api.post("/v1/enrollments/batch", content=b"[]",
                                           headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and wrong_type.json()["error"] == "unsupported_media_type"
    wrong_encoding = await enrollment_api.post("/v1/enrollments/batch", content=b"[]",
                                               headers={"Content-Type": "application/json", "Content-Encoding": "br"})
    assert wrong_encoding.status_code == 415

    not_array = await enrollment_api.post("/v1/enrollments/batch", json={"nik": "1"})
    assert not_array.status_code == 422 and not_array.json()["error"] == "invalid_json"
    assert await total_at(enrollment_api, SITE) == 0


async def test_every_problem_of_a_recording_at_once_on_both_endpoints(enrollment_api):
    """A field of the wrong type or value no longer hides what the counter's rules find in the others."""
    rec = recording(60)
    rec.update(religion="islam", name="MARIA 2", blood_type="C")
    expected = {("religion", "field.enum"), ("name", "name.digits"), ("blood_type", "blood_type.invalid")}

    single = await enrollment_api.post("/v1/enrollments", json=rec)
    assert single.status_code == 422, single.text
    assert {(f["field"], f["code"]) for f in single.json()["fields"]} == expected
    assert single.json()["detail"] == service.REFUSED
    answer = (await enrollment_api.post("/v1/enrollments/batch", json=[rec])).json()
    assert {(f["field"], f["code"]) for f in answer["items"][0]["error"]["fields"]} == expected
    assert await total_at(enrollment_api, SITE) == 0
