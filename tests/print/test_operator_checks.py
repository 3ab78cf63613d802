"""What the print service refuses an operator, and what it tells the rest of the system: redirects
and blank-card stock only for the dinas's sites (53.71 and its kecamatan 53.71.01-06), no
redirect loops; a site-bound credential lists only its own site's print nodes, as its jobs; a
blank spoiled because its print agent was lost is told as any spoiled card is.
The print service in-process on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import json

import aio_pika
import httpx
import pytest

from shared.messaging import Event
from shared.messaging.amqp import AmqpTransport
from shared.messaging.envelope import EXCHANGE
from tests.enrollment.service_app import credentials  # noqa: F401 (a fixture)
from tests.print.pool import add_stock, check_accounting, jobs_total, publish_jobs, query
from tests.support.api import auth, eventually

DINAS = "53.71"


def _refused(response: httpx.Response, status: int, error: str) -> dict[str, dict]:
    """The refusal's field problems by field, after checking its status and error code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    for problem in body["fields"]:
        assert problem["message_id"] and problem["message_en"]
    return {p["field"]: p for p in body["fields"]}


async def _redirect(api: httpx.AsyncClient, site: str, to_site: str) -> httpx.Response:
    return await api.post(f"/v1/print/sites/{site}/redirect", json={"to_site": to_site, "reason": "server rusak"})


async def _probe(channel: aio_pika.abc.AbstractChannel, routing_key: str):  # type: ignore[no-untyped-def]
    """A queue of its own bound to `routing_key`; `await received(n)`: the events seen so far, once
    there are `n` (else None)."""
    probe = await channel.declare_queue(exclusive=True)
    await probe.bind(EXCHANGE, routing_key=routing_key)
    seen: list[Event] = []

    async def received(count: int) -> list[Event] | None:
        while (message := await probe.get(no_ack=True, fail=False)) is not None:
            seen.extend(AmqpTransport.events_of(message.body, message.content_encoding))
        return seen if len(seen) >= count else None

    return received


async def _routes(api: httpx.AsyncClient) -> dict[str, str]:
    return {r["site"]: r["print_site"] for r in (await api.get("/v1/print/sites/routes")).json()}


async def test_a_redirect_names_sites_of_the_dinas_only(print_api, pg_url):
    api = print_api
    # 53.71.07 is no kecamatan of Kota Kupang; 53.01 (Kabupaten Kupang) is another dinas.
    for site, to_site, fields in [("53.71.04", "53.71.07", {"to_site"}), ("53.71.07", DINAS, {"path.site"}),
                                  ("53.01", DINAS, {"path.site"}), ("53.99.01", "53.01", {"path.site", "to_site"})]:
        problems = _refused(await _redirect(api, site, to_site), 422, "invalid_input")
        assert set(problems) == fields, (site, to_site, problems)
        for problem in problems.values():
            assert problem["code"] == "site.unknown"
            assert "53.71.04" in problem["message_en"]  # it names the sites that are known
    assert await _routes(api) == {}
    assert await query(pg_url, "SELECT 1 FROM auth.audit_log WHERE action = 'print.site.redirect'") == []

    ok = await _redirect(api, "53.71.04", DINAS)
    assert ok.status_code == 200, ok.text
    assert await _routes(api) == {"53.71.04": DINAS}


async def test_a_redirect_loop_is_refused_however_long(print_api):
    api = print_api
    for site, to_site in [("53.71.04", DINAS), ("53.71.01", "53.71.02"), ("53.71.02", "53.71.03")]:
        assert (await _redirect(api, site, to_site)).status_code == 200
    before = await _routes(api)

    back = _refused(await _redirect(api, DINAS, "53.71.04"), 409, "redirect_loop")
    assert back["to_site"]["code"] == "redirect.loop"
    assert "53.71 → 53.71.04 → 53.71" in back["to_site"]["message_en"]
    round_three = _refused(await _redirect(api, "53.71.03", "53.71.01"), 409, "redirect_loop")
    assert "53.71.03 → 53.71.01 → 53.71.02 → 53.71.03" in round_three["to_site"]["message_id"]
    assert await _routes(api) == before

    # Not loops: a redirect moved to another site, and one onto a site that is redirected elsewhere.
    assert (await _redirect(api, "53.71.04", "53.71.05")).status_code == 200
    assert (await _redirect(api, DINAS, "53.71.04")).status_code == 200
    assert (await _redirect(api, "53.71.06", "53.71.01")).status_code == 200
    assert await _routes(api) == {**before, "53.71.04": "53.71.05", DINAS: "53.71.04", "53.71.06": "53.71.01"}


async def test_blank_stock_is_received_for_sites_of_the_dinas_only(print_api, pg_url):
    api = print_api
    for site in ("53.71.07", "53.01"):
        refused = await api.post(f"/v1/print/sites/{site}/stock", json={"first_serial": "7000000001", "count": 5})
        problems = _refused(refused, 422, "invalid_input")
        assert list(problems) == ["path.site"] and problems["path.site"]["code"] == "site.unknown"
        threshold = await api.put(f"/v1/print/sites/{site}/stock/threshold", json={"threshold": 3})
        assert list(_refused(threshold, 422, "invalid_input")) == ["path.site"]
    received = await api.post(f"/v1/print/sites/{DINAS}/stock", json={"first_serial": "7000000001", "count": 5})
    assert received.status_code == 201, received.text
    moved = await api.post(f"/v1/print/sites/{DINAS}/stock/transfer",
                           json={"first_serial": "7000000001", "count": 2, "to_site": "53.71.07"})
    assert list(_refused(moved, 422, "invalid_input")) == ["to_site"]

    stock = (await api.get("/v1/print/stock")).json()
    assert [(s["site"], s["available"]) for s in stock] == [(DINAS, 5)]
    assert [r["site"] for r in await query(pg_url, "SELECT site FROM print.print_site_stock")] == [DINAS]
    audited = await query(pg_url, "SELECT action FROM auth.audit_log WHERE action LIKE 'print.stock.%'")
    assert [r["action"] for r in audited] == ["print.stock.receive"]


async def test_a_blank_spoiled_by_a_lost_or_departing_agent_is_told_as_any_spoiled_card(print_api, pg_url, amqp_url):
    """The enrollment's timeline and the stock figures follow `print.card_spoiled`; a claim taken
    back from an agent spoils its blank just as a misprint does."""
    api, site = print_api, "53.71.04"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        spoiled = await _probe(await connection.channel(), "print.card_spoiled")

        await add_stock(api, site, "4600000001", 5)
        [enrollment_id] = await publish_jobs(amqp_url, site, 1)
        await eventually(lambda: jobs_total(api, site=site, status="QUEUED"), what="the job queued")

        async def agent_holding_the_job(name: str) -> tuple[str, dict]:
            node = (await api.post("/v1/print/nodes", json={"name": name, "site": site})).json()
            claimed = await api.post(f"/v1/print/nodes/{node['id']}/claim", json={"max_jobs": 1, "wait_seconds": 10})
            [job] = claimed.json()["jobs"]
            return node["id"], job

        # Lost: it stops renewing its 1 s lease while printing.
        lost_id, first = await agent_holding_the_job("lost-mid-print")

        async def is_lost() -> bool:
            return (await api.get("/v1/print/nodes", params={"status": "LOST"})).json()["total"] == 1

        await eventually(is_lost, timeout=30, what="the agent declared LOST")
        [event] = await eventually(lambda: spoiled(1), timeout=30, what="print.card_spoiled of the lost agent's blank")
        assert event.data == {"job_id": first["job_id"], "enrollment_id": enrollment_id, "site": site,
                              "serial": first["serial"], "reason": "node_lost"}
        assert event.key == enrollment_id  # in order with the resident's other events

        # Deregistered while holding the job again (its next blank).
        gone_id, second = await agent_holding_the_job("leaves-mid-print")
        assert second["job_id"] == first["job_id"] and second["serial"] != first["serial"]
        assert (await api.delete(f"/v1/print/nodes/{gone_id}")).status_code == 200
        events = await eventually(lambda: spoiled(2), timeout=30, what="print.card_spoiled of the departing agent's")
        assert events[1].data == {**event.data, "serial": second["serial"], "reason": "node_deregistered"}
        assert lost_id != gone_id
    assert await check_accounting(pg_url) == {"SPOILED": 2, "AVAILABLE": 3}
    assert await jobs_total(api, site=site, status="QUEUED") == 1


async def test_a_site_bound_credential_lists_only_its_own_sites_nodes_as_its_jobs(print_api, credentials):  # noqa: F811
    api, kecamatan = print_api, "53.71.04"
    for name, site in (("oebobo-ps1", kecamatan), ("dinas-ps1", DINAS)):
        assert (await api.post("/v1/print/nodes", json={"name": name, "site": site})).status_code == 201
    _, oebobo = await credentials.create("kecamatan_operator", kecamatan)
    _, print_room = await credentials.create("print_operator", kecamatan)
    _, dinas = await credentials.create("dinas_operator", DINAS)

    async def listed(token: str, path: str, **params: str) -> httpx.Response:
        return await api.get(f"/v1/print/{path}", params=params, headers=auth(token))

    for token in (oebobo, print_room):
        for path in ("nodes", "jobs"):
            refused = await listed(token, path, site=DINAS)
            assert refused.status_code == 403 and refused.json()["error"] == "wrong_site", (path, refused.text)
        for params in ({"site": kecamatan}, {}):
            own = (await listed(token, "nodes", **params)).json()
            assert [n["site"] for n in own["items"]] == [kecamatan] and own["total"] == 1
    asked = (await listed(dinas, "nodes", site=kecamatan)).json()
    assert [n["name"] for n in asked["items"]] == ["oebobo-ps1"]
    assert sorted(n["site"] for n in (await listed(dinas, "nodes")).json()["items"]) == [DINAS, kecamatan]


async def test_each_role_reads_the_blank_stock_of_the_sites_it_acts_for(print_api, credentials):  # noqa: F811
    """A kecamatan's operators see their own site's blanks; the dinas's print room every site of the
    dinas (it transfers blanks to any of them); a dinas operator and the admin every site. Before,
    any print operator read every site's counts."""
    api, kecamatan, other = print_api, "53.71.04", "53.71.01"
    for n, site in enumerate((kecamatan, other, DINAS), start=1):
        await add_stock(api, site, f"47{n}0000001", n)
    tokens = {
        "kecamatan_operator": (await credentials.create("kecamatan_operator", kecamatan))[1],
        "print_operator": (await credentials.create("print_operator", kecamatan))[1],
        "dinas print_operator": (await credentials.create("print_operator", DINAS))[1],
        "dinas_operator": (await credentials.create("dinas_operator", DINAS))[1],
    }

    async def stock(who: str, **params: str) -> httpx.Response:
        return await api.get("/v1/print/stock", params=params,
                             headers=auth(tokens[who]) if who in tokens else {})  # else the admin's

    def available(response: httpx.Response) -> dict[str, int]:
        assert response.status_code == 200, response.text
        return {s["site"]: s["available"] for s in response.json()}

    everywhere = {kecamatan: 1, other: 2, DINAS: 3}
    for who in ("kecamatan_operator", "print_operator"):
        assert available(await stock(who)) == {kecamatan: 1}, who
        assert available(await stock(who, site=kecamatan)) == {kecamatan: 1}, who
        for site in (other, DINAS):
            refused = await stock(who, site=site)
            assert refused.status_code == 403 and refused.json()["error"] == "wrong_site", (who, refused.text)
    assert available(await stock("dinas print_operator")) == everywhere
    assert available(await stock("dinas print_operator", site=other)) == {other: 2}
    assert available(await stock("dinas print_operator", site="53.71.05")) == {"53.71.05": 0}  # none received yet
    refused = await stock("dinas print_operator", site="53.72.01")  # not a site of this dinas
    assert refused.status_code == 403 and refused.json()["error"] == "wrong_site", refused.text
    for who in ("dinas_operator", "admin"):
        assert available(await stock(who)) == everywhere, who
        assert available(await stock(who, site=other)) == {other: 2}, who


async def test_a_print_server_joins_a_pool_of_a_site_of_the_dinas_only(print_api):
    """A typo in an agent's --site made a pool of its own that no job ever reaches."""
    api = print_api
    refused = await api.post("/v1/print/nodes", json={"name": "ps-typo", "site": "53.71.40"})
    problems = _refused(refused, 422, "invalid_input")
    assert list(problems) == ["site"] and problems["site"]["code"] == "site.unknown"
    assert (await api.get("/v1/print/nodes")).json()["total"] == 0
    assert (await api.post("/v1/print/nodes", json={"name": "ps-oebobo", "site": "53.71.04"})).status_code == 201


async def test_a_site_redirected_to_a_site_that_is_redirected_in_turn_prints_where_the_chain_ends(print_api, amqp_url):
    """53.71.01 is redirected to 53.71.02; then 53.71.02 goes down too and is redirected to the dinas:
    the cards of 53.71.01 followed only the first redirect and waited at 53.71.02, which prints
    nothing. They go to the dinas, new ones too, and come back when 53.71.02 prints again."""
    api = print_api
    assert (await _redirect(api, "53.71.01", "53.71.02")).status_code == 200
    waiting = await publish_jobs(amqp_url, "53.71.01", 2)

    async def at(site: str, count: int) -> bool:
        return await jobs_total(api, site=site, status="QUEUED") == count

    await eventually(lambda: at("53.71.02", 2), timeout=30, what="53.71.01's jobs waiting at 53.71.02")
    down = await _redirect(api, "53.71.02", DINAS)
    assert down.status_code == 200 and down.json()["moved_jobs"] == 2, down.text
    assert await at(DINAS, 2) and await at("53.71.02", 0)
    await publish_jobs(amqp_url, "53.71.01", 1, seed=2)
    await eventually(lambda: at(DINAS, 3), timeout=30, what="a new job of 53.71.01 queued at the dinas")

    back = await api.delete("/v1/print/sites/53.71.02/redirect")
    assert back.status_code == 200 and back.json()["moved_jobs"] == 3, back.text
    assert await at("53.71.02", 3) and await at(DINAS, 0)
    jobs = (await api.get("/v1/print/jobs", params={"site": "53.71.02", "limit": 10})).json()["items"]
    assert set(waiting) <= {j["enrollment_id"] for j in jobs}


@pytest.mark.parametrize("print_lease", [300.0])  # no node is reaped while the test runs: each change is the takeover's
async def test_a_restarted_print_server_takes_its_previous_node_over_at_once(print_api, pg_url, amqp_url):
    """An agent that restarted names the node of its previous process (`replaces`): that node is LOST
    at once and its claimed card goes back to the queue as a lost node's does (blank spoiled,
    reason node_restarted), instead of waiting for the lease or the service's restart grace. Only
    a node of the same name and site is taken over; an unknown one is ignored."""
    api, site = print_api, "53.71.04"
    await add_stock(api, site, "4800000001", 5)
    await publish_jobs(amqp_url, site, 1)
    await eventually(lambda: jobs_total(api, site=site, status="QUEUED"), what="the job queued")
    before = (await api.post("/v1/print/nodes", json={"name": "oebobo-ps1", "site": site})).json()
    [held] = (await api.post(f"/v1/print/nodes/{before['id']}/claim",
                             json={"max_jobs": 1, "wait_seconds": 10})).json()["jobs"]

    other = await api.post("/v1/print/nodes", json={"name": "oebobo-ps2", "site": site, "replaces": before["id"]})
    problems = _refused(other, 422, "invalid_input")
    assert list(problems) == ["replaces"] and problems["replaces"]["code"] == "node.not_same_server"
    elsewhere = await api.post("/v1/print/nodes", json={"name": "oebobo-ps1", "site": DINAS, "replaces": before["id"]})
    assert list(_refused(elsewhere, 422, "invalid_input")) == ["replaces"]
    assert await jobs_total(api, site=site, status="CLAIMED") == 1  # nothing taken over by either

    after = await api.post("/v1/print/nodes", json={"name": "oebobo-ps1", "site": site, "replaces": before["id"]})
    assert after.status_code == 201, after.text
    assert (after.json()["replaced"], after.json()["released_jobs"]) == (before["id"], 1)
    nodes = {n["id"]: n["status"] for n in (await api.get("/v1/print/nodes")).json()["items"]}
    assert nodes == {before["id"]: "LOST", after.json()["id"]: "LIVE"}
    [spoiled] = await query(pg_url, "SELECT serial, reason FROM print.print_blank_cards WHERE status = 'SPOILED'")
    assert spoiled["serial"] == held["serial"] and spoiled["reason"].startswith("agent restarted"), spoiled
    [printed_again] = (await api.post(f"/v1/print/nodes/{after.json()['id']}/claim",
                                      json={"max_jobs": 1, "wait_seconds": 10})).json()["jobs"]
    assert printed_again["job_id"] == held["job_id"] and printed_again["serial"] != held["serial"]
    late = await api.post(f"/v1/print/jobs/{held['job_id']}/result",
                          json={"claim_id": held["claim_id"], "outcome": "printed"})
    assert late.json()["report"] == "void", late.text  # had the old process printed it after all
    audited = await query(pg_url, "SELECT subject_id, detail FROM auth.audit_log WHERE action = 'print.node.restarted'")
    assert [(r["subject_id"], json.loads(r["detail"])["released_jobs"]) for r in audited] == [(before["id"], 1)]

    again = await api.post("/v1/print/nodes", json={"name": "oebobo-ps1", "site": site, "replaces": before["id"]})
    unknown = await api.post("/v1/print/nodes", json={"name": "oebobo-ps1", "site": site,
                                                      "replaces": "00000000-0000-4000-8000-000000000000"})
    for response in (again, unknown):  # LOST already / a node this database never had
        assert response.status_code == 201 and response.json()["replaced"] is None, response.text
    assert await check_accounting(pg_url) == {"SPOILED": 1, "RESERVED": 1, "AVAILABLE": 3}


async def test_a_card_whose_data_does_not_fit_is_told_as_held_without_the_data(print_api, amqp_url):
    """An agent's `unprintable` holds the job and says so with `print.job_held` (the resident's
    timeline follows it): the job, the site and a code, never the agent's detail, which quotes the
    data (the full name) that the public status must not show."""
    api, site = print_api, "53.71.04"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        held = await _probe(await connection.channel(), "print.job_held")

        await add_stock(api, site, "4600000101", 2)
        [enrollment_id] = await publish_jobs(amqp_url, site, 1, seed=7)
        await eventually(lambda: jobs_total(api, site=site, status="QUEUED"), what="the job queued")
        node = (await api.post("/v1/print/nodes", json={"name": "narrow-card", "site": site})).json()
        [job] = (await api.post(f"/v1/print/nodes/{node['id']}/claim",
                                json={"max_jobs": 1, "wait_seconds": 10})).json()["jobs"]
        detail = "Nama (name): 'WWWWWWWWWWWWWWWWWWWWWWWWWWWWW WWWWWWWWWWWWWWWWWWWWWWWWWWWWW' is too wide"
        answer = await api.post(f"/v1/print/jobs/{job['job_id']}/result",
                                json={"claim_id": job["claim_id"], "outcome": "unprintable", "detail": detail})
        assert answer.status_code == 200 and answer.json()["status"] == "HELD", answer.text
        [event] = await eventually(lambda: held(1), timeout=30, what="print.job_held")
        assert event.data == {"job_id": job["job_id"], "enrollment_id": enrollment_id, "site": site,
                              "reason": "unprintable"}
        assert event.key == enrollment_id
    assert await jobs_total(api, site=site, status="HELD") == 1
