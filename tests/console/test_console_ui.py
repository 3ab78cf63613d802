"""What a user of the console reads, in a real browser (Debian's Chromium driven by Playwright)
against a real `ektp up`: refusals in the page's language, human words for the system's codes,
score bars on the matcher's scale, the public pages on a phone, a waiting recording's place in
the queue said once, confirmations that can be dismissed, and a refused credential ending the
session. Screenshots go to artifacts/console/."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from console.i18n import MESSAGES
from tests.console.browser import Watcher, chromium_path, issue_certificate, login, post, shot, status_of, until
from tests.support.api import recording
from tests.support.processes import ektp

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test.sh installs it)"),
]

ID, EN = MESSAGES["id"], MESSAGES["en"]
WAIT = 90_000  # ms: the machine is shared; never assert timings


def test_refusals_are_shown_in_the_pages_language(allinone, token, browser):
    url, _ = allinone
    watcher = Watcher()
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    login(page, url, token)  # Indonesian, the default
    flash, note = page.locator("#flash.bad"), page.locator("#flash .flash-note")

    # "Data tidak sah / invalid input" and a field problem: the Indonesian half, and the field's
    # Indonesian message
    watcher.expect(422, "/v1/dedup/engine/pause")
    page.fill("#pause-reason", "   ")  # three blanks pass the form; the API refuses a blank reason
    page.click("#pause")
    expect(flash).to_contain_text("Data tidak sah", timeout=WAIT)
    expect(flash).to_contain_text("Alasan: Tidak boleh kosong.")  # the field as the page names it: "reason: "
    assert "invalid input" not in flash.inner_text()
    shot(page, "ui-error-bilingual-id")

    # an English-only message with a code the console has words for
    page.goto(f"{url}/console/print")
    watcher.expect(422, "/v1/print/sites/53.71.04/redirect")
    page.fill("#redirect-site", "53.71.04")
    page.fill("#redirect-to", "53.71.04")
    page.fill("#redirect-reason", "uji coba")
    page.click("#redirect-form button[type=submit]")
    expect(flash).to_contain_text(ID["error.redirect_to_self"], timeout=WAIT)
    assert "redirected to itself" not in flash.inner_text()
    expect(note).to_have_text("redirect_to_self · HTTP 422")  # the code stays, small, for operators
    assert "redirected to itself" in (flash.get_attribute("title") or "")  # and the API's words on hover

    # an English-only message with a code it has no words for: its words for the HTTP status
    page.goto(f"{url}/console/certificates")
    watcher.expect(404, "/v1/certificates")
    page.fill("#issue-enrollment", "00000000-0000-0000-0000-000000000000")
    page.click("#issue-form button[type=submit]")
    expect(flash).to_contain_text(ID["error.http.404"], timeout=WAIT)
    assert "certificate service" not in flash.inner_text()
    shot(page, "ui-error-english-only-id")

    # in English: the API's English, and the English half of a message in both
    page.goto(f"{url}/console/certificates?lang=en")
    page.fill("#issue-enrollment", "00000000-0000-0000-0000-000000000000")
    page.click("#issue-form button[type=submit]")
    expect(flash).to_contain_text("known to the certificate service", timeout=WAIT)
    page.goto(f"{url}/console/dashboard")
    page.fill("#pause-reason", "   ")
    page.click("#pause")
    expect(flash).to_contain_text("Invalid input", timeout=WAIT)
    expect(flash).to_contain_text("Reason: Must not be blank.")
    assert "Data tidak sah" not in flash.inner_text()
    page.close()
    watcher.check()


def test_case_scores_are_drawn_against_the_engines_thresholds(allinone, token, api, browser):
    url, _ = allinone
    watcher = Watcher()
    # A and B are recorded. B's NIK comes back with A's biometrics: A scores far above the auto
    # threshold. A's NIK comes back with a stranger's: everyone scores low.
    a, b = recording(301, pickup_site="53.71.04"), recording(302, pickup_site="53.71.04")
    firsts = [post(api, a), post(api, b)]
    until(lambda: all(status_of(api, x["receipt_number"]) != "RECEIVED" for x in firsts), what="A and B decided")
    strip = ("station_recording_id", "recording", "biometrics")
    b_with_a = {**b, "biometrics": a["biometrics"], "station_recording_id": f"{b['station_recording_id']}-2"}
    a_by_stranger = recording(9301, resident={k: v for k, v in a.items() if k not in strip})
    returns = [post(api, b_with_a), post(api, a_by_stranger)]

    def cases() -> list[dict] | None:
        found = {c["enrollment_id"]: c for c in api.get("/v1/dedup/cases").json()["items"]}
        return [found[r["id"]] for r in returns] if all(r["id"] in found for r in returns) else None

    opened = until(cases, what="both cases opened")
    engine = api.get("/v1/dedup/engine").json()
    # the scale of every score: MOSIP targetFPIR 40 against an expected gallery of 1M
    assert (engine["auto_threshold"], engine["grey_threshold"]) == (10.0, 9.0)
    scores = [{c["enrollment_id"]: c["scores"]["fused"] for c in case["candidates"]} for case in opened]
    assert scores[0][firsts[0]["id"]] > 20 and scores[0][firsts[1]["id"]] is None
    assert all(s is not None and s < 9 for s in scores[1].values())
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    login(page, url, token)
    for n, (case, fused) in enumerate(zip(opened, scores)):
        page.goto(f"{url}/console/adjudication?case={case['id']}")
        expect(page.locator("#case-compare .person")).to_have_count(1 + len(fused), timeout=WAIT)
        expect(page.locator("#score-scale")).to_contain_text("≥ 10,0")
        expect(page.locator("#score-scale")).to_contain_text("9,0–10,0")
        for candidate, score in fused.items():
            bar = page.locator(f"#case-compare [data-enrollment='{candidate}'] tr[data-modality=fused]")
            if score is None:
                expect(bar).to_contain_text("–")
                continue
            fill = bar.locator(".fill")
            # from 0 to twice the auto threshold: 0.9 is a sliver (it was 90 % of the bar)
            share = float(fill.get_attribute("data-share") or "nan")
            assert share == pytest.approx(min(100, score / 20 * 100), abs=0.06)
            assert ("over" in (fill.get_attribute("class") or "")) == (score >= 10)
            assert bar.locator(".threshold").get_attribute("style") == "left:50.0%"
            assert bar.locator(".grey-zone").get_attribute("style") == "left:45.0%;width:5.0%"
        shot(page, f"ui-adjudication-scale-{n}")
    page.close()
    watcher.check()


def test_the_public_pages_fit_a_phone(allinone, token, api, browser):
    url, _ = allinone
    watcher = Watcher()
    resident = post(api, recording(401, pickup_site="53.71.04"))
    until(lambda: status_of(api, resident["receipt_number"]) != "RECEIVED", what="recording decided")
    cert_token = issue_certificate(api, resident["id"])["token"]
    phone = watcher.attach(browser.new_context(viewport={"width": 390, "height": 844}).new_page())
    watcher.expect(404, "/console/nope")
    for lang in ("id", "en"):
        for path, ready in ((f"/console/verify?token={cert_token}", "#verify-result[data-status=valid]"),
                            ("/console/verify?token=bukan-kode", "#verify-result[data-status=invalid]"),
                            ("/console/verify", "#verify-form"),
                            (f"/console/status?receipt={resident['receipt_number']}", "#status-timeline li"),
                            ("/console/login", "#login-form"), ("/console/nope", "#not-found")):
            phone.goto(f"{url}{path}{'&' if '?' in path else '?'}lang={lang}")
            expect(phone.locator(ready).first).to_be_visible(timeout=WAIT)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} ({lang}) is {width} px wide on a 390 px screen"
        # the longest verdict, one word, stays inside its card
        phone.goto(f"{url}/console/verify?token={cert_token}&lang={lang}")
        expect(phone.locator("#verify-result")).to_have_attribute("data-status", "valid", timeout=WAIT)
        for status in ("valid", "expired", "revoked", "unknown", "invalid"):
            phone.evaluate("(text) => { document.getElementById('verify-verdict').textContent = text; }",
                           MESSAGES[lang][f"verify.status.{status}"])
            badge, card = (phone.locator(s).bounding_box() for s in ("#verify-verdict", "#verify-result"))
            assert badge and card and badge["x"] + badge["width"] <= card["x"] + card["width"], status
    # the verifier reads the issuing dinas by name, not by its code
    verified = api.get(f"/v1/verify/{cert_token}").json()
    assert (verified["issuer"], verified["issuer_name_id"], verified["issuer_name_en"]) == (
        "53.71", "Dinas Dukcapil Kota Kupang (53.71)", "Kota Kupang civil registry (53.71)")
    for lang, issuer in (("id", verified["issuer_name_id"]), ("en", verified["issuer_name_en"])):
        phone.goto(f"{url}/console/verify?token={cert_token}&lang={lang}")
        expect(phone.locator("#verify-details")).to_contain_text(issuer, timeout=WAIT)
    # the pickup site in words, in the page's language; the timeline says where the card was queued
    for lang, pickup in (("id", "Kantor Kecamatan Oebobo (53.71.04)"), ("en", "Oebobo kecamatan office (53.71.04)")):
        phone.goto(f"{url}/console/status?receipt={resident['receipt_number']}&lang={lang}")
        expect(phone.locator("#status-site")).to_have_text(pickup, timeout=WAIT)
        shot(phone, f"ui-status-phone-{lang}")
    phone.goto(f"{url}/console/verify?token={cert_token}")
    expect(phone.locator("#verify-result")).to_have_attribute("data-status", "valid", timeout=WAIT)
    shot(phone, "ui-verify-phone")
    # on a desktop the two ways to verify stand side by side still
    desk = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    desk.goto(f"{url}/console/verify")
    paste, upload = (desk.locator(s).bounding_box() for s in ("#verify-form", "#upload-form"))
    assert paste and upload and paste["y"] == upload["y"] and paste["x"] < upload["x"]
    for page in (phone, desk):
        page.close()
    watcher.check()


def test_a_waiting_recording_is_told_its_place_in_the_queue_once(allinone, token, api, browser):
    """While de-duplication is paused the API's last step (WAITING_FOR_DEDUP) says why nothing moves
    and where the recording stands; the resident reads the place once, not again beside the status."""
    url, _ = allinone
    watcher = Watcher()
    assert api.post("/v1/dedup/engine/pause", json={"reason": "lisensi habis / licence expired"}).status_code == 200
    receipt = [post(api, recording(seed, pickup_site="53.71.04"))["receipt_number"] for seed in (411, 412)][-1]
    status = until(lambda: (s := api.get(f"/v1/status/{receipt}").json())["dedup_paused"] and s,
                   what="the pause on the status")
    assert status["waiting_position"] == 2 and status["timeline"][-1]["step"] == "WAITING_FOR_DEDUP"
    page = watcher.attach(browser.new_context(viewport={"width": 1100, "height": 800}).new_page())
    for lang, said in (("id", "(antrean ke-2)"), ("en", "(position 2 in the queue)")):
        page.goto(f"{url}/console/status?receipt={receipt}&lang={lang}")
        expect(page.locator("#status-timeline li").last).to_contain_text(said, timeout=WAIT)
        expect(page.locator("#status-timeline li").last).to_contain_text("lisensi habis" if lang == "id" else "licence")
        # every line the resident reads that speaks of the queue and the number 2: one
        lines = page.locator("#status-result").inner_text().splitlines()
        about = [line for line in lines if re.search(r"(antrean|queue)", line) and re.search(r"\b2\b", line)]
        assert len(about) == 1, about
        shot(page, f"ui-status-waiting-{lang}")
    page.close()
    watcher.check()


def test_the_systems_codes_are_shown_as_words(allinone, token, api, browser):
    url, _ = allinone
    watcher = Watcher()
    # a print server-less kecamatan: 53.71.01's only print server is drained, one of its residents waits
    def nodes_of_site() -> list[dict]:
        nodes = api.get("/v1/print/nodes", params={"limit": 200}).json()["items"]
        return [n for n in nodes if n["site"] == "53.71.01"]

    node = until(lambda: next((n for n in nodes_of_site() if n["status"] == "LIVE"), None), what="53.71.01 printing")
    assert api.post(f"/v1/print/nodes/{node['id']}/drain").status_code == 200
    until(lambda: all(n["status"] == "GONE" for n in nodes_of_site()), what="53.71.01's print server gone")
    post(api, recording(402, pickup_site="53.71.01"))
    queue = until(lambda: (q := api.get("/v1/print/sites/53.71.01/queue").json())["waiting"] and q,
                  what="a job waiting at 53.71.01")
    assert " / " in queue["reason"]  # "no live print server at this site / tidak ada server cetak aktif"
    # a resident, their certificate revoked by an operator, and their NIK recorded with a stranger's biometrics
    a = recording(403, pickup_site="53.71.04")
    first = post(api, a)
    until(lambda: status_of(api, first["receipt_number"]) != "RECEIVED", what="A decided")
    cert = issue_certificate(api, first["id"])
    revoked = api.post(f"/v1/certificates/{cert['number']}/revoke", json={"reason": "data salah"})
    assert revoked.json()["revoke_code"] == "operator"
    stranger = post(api, recording(9403, resident={k: v for k, v in a.items()
                                                      if k not in ("station_recording_id", "recording", "biometrics")}))
    until(lambda: status_of(api, stranger["receipt_number"]) == "ADJUDICATION", what="case opened")
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    login(page, url, token)

    # the record in adjudication: why, in words, the code small beside them
    page.goto(f"{url}/console/enrollments?q={stranger['receipt_number']}")
    reason = page.locator("#record-details .reason")
    words = ID["reason.same_nik_different_biometrics"]
    expect(reason.locator(".reason-text")).to_have_text(words, timeout=WAIT)
    expect(reason.locator(".reason-code")).to_have_text("same_nik_different_biometrics")
    shot(page, "ui-reason-enrollment")
    page.goto(f"{url}/console/adjudication")
    case_reason = page.locator("#cases .reason-text").first
    expect(case_reason).to_have_text(words, timeout=WAIT)

    # why cards wait: the Indonesian half of the print service's words
    page.goto(f"{url}/console/print")
    row = page.locator("#waiting tr[data-site='53.71.01']")
    expect(row).to_contain_text("tidak ada server cetak aktif", timeout=WAIT)
    assert "no live print server" not in row.inner_text()

    # a revoked certificate: the revocation's code in words, and the operator's own reason
    page.goto(f"{url}/console/certificates")
    page.fill("#find-number", cert["number"])
    page.click("#find-form button[type=submit]")
    expect(page.locator("#cert-details .reason-text")).to_have_text(ID["reason.operator"], timeout=WAIT)
    expect(page.locator("#cert-details")).to_contain_text("data salah")
    shot(page, "ui-reason-certificate")

    # the public page: words only, in the page's language
    public = watcher.attach(browser.new_context(viewport={"width": 1100, "height": 800}).new_page())
    for lang, words in (("id", ID), ("en", EN)):
        public.goto(f"{url}/console/verify?token={cert['token']}&lang={lang}")
        expect(public.locator("#verify-result")).to_have_attribute("data-status", "revoked", timeout=WAIT)
        expect(public.locator("#verify-details .reason")).to_have_text(words["reason.operator"])
    shot(public, "ui-reason-verify")
    for p in (page, public):
        p.close()
    watcher.check()


def test_a_dismissed_confirmation_sends_nothing(allinone, token, api, browser):
    url, _ = allinone
    watcher = Watcher()
    # a printed card (hand over, reprint), a valid certificate (revoke), an open case (decide), a
    # case decided 'same person' (correct), a paused engine (resume); the all-in-one's print servers
    # (drain) and redirects (cancel)
    a = recording(501, pickup_site="53.71.04")
    first = post(api, a)
    until(lambda: status_of(api, first["receipt_number"]) == "PRINTED", what="A's card printed")
    job = api.get("/v1/print/jobs", params={"enrollment_id": first["id"]}).json()["items"][0]
    cert = issue_certificate(api, first["id"])
    stranger = post(api, recording(9501, resident={k: v for k, v in a.items()
                                                      if k not in ("station_recording_id", "recording", "biometrics")}))
    until(lambda: status_of(api, stranger["receipt_number"]) == "ADJUDICATION", what="case opened")
    case = next(c for c in api.get("/v1/dedup/cases").json()["items"] if c["enrollment_id"] == stranger["id"])
    another = post(api, recording(9502, resident={k: v for k, v in a.items()
                                                  if k not in ("station_recording_id", "recording", "biometrics")}))
    until(lambda: status_of(api, another["receipt_number"]) == "ADJUDICATION", what="a second case opened")
    decided = next(c for c in api.get("/v1/dedup/cases").json()["items"] if c["enrollment_id"] == another["id"])
    assert api.post(f"/v1/dedup/cases/{decided['id']}/decision",
                    json={"decision": "same_person", "note": "orang yang sama"}).status_code == 200
    assert api.post("/v1/dedup/engine/pause", json={"reason": "uji konfirmasi"}).json()["paused"]
    node = until(lambda: next((n for n in api.get("/v1/print/nodes", params={"limit": 200}).json()["items"]
                               if n["site"] == "53.71.04" and n["status"] == "LIVE"), None), what="a live print server")
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    asked: list[str] = []
    sent: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: sent.append(f"{request.method} {request.url}")
            if request.method != "GET" else None)
    login(page, url, token)
    sent.clear()

    expect(page.locator("#resume")).to_be_visible(timeout=WAIT)
    page.click("#resume")

    page.goto(f"{url}/console/print")
    page.locator(f"#nodes tr[data-node='{node['name']}'] button").click()
    page.locator("#routes tr[data-site='53.71.03'] button").click()

    page.goto(f"{url}/console/enrollments?q={first['receipt_number']}")
    row = page.locator(f"#record-jobs tr[data-job='{job['id']}']")
    row.get_by_role("button", name=ID["print.hand_over"]).click(timeout=WAIT)
    row.locator("input[name=reason]").fill("foto buram")
    row.get_by_role("button", name=ID["print.reprint"]).click()

    page.goto(f"{url}/console/adjudication?case={case['id']}")
    expect(page.locator("#case")).to_be_visible(timeout=WAIT)
    page.check("input[value=same_person]")
    page.fill("#decision-note", "sidik jari sama")
    page.click("#decision-form button[type=submit]")

    page.goto(f"{url}/console/adjudication?case={decided['id']}")
    expect(page.locator("#correction-form")).to_be_visible(timeout=WAIT)
    page.fill("#correction-reason", "orang yang berbeda")
    page.click("#correction-form button[type=submit]")

    page.goto(f"{url}/console/certificates")
    page.fill("#find-number", cert["number"])
    page.click("#find-form button[type=submit]")
    expect(page.locator("#cert-status")).to_have_attribute("data-status", "VALID", timeout=WAIT)
    page.fill("#revoke-reason", "data salah")
    page.click("#revoke-form button[type=submit]")
    expect(page.locator("#revoke-form button")).to_be_enabled()
    page.wait_for_timeout(1000)  # anything a dismissed dialog let through would be on its way

    assert asked == [
        ID["dash.resume.confirm"],
        ID["print.drain.confirm"].format(name=node["name"]),
        ID["print.routes.clear.confirm"].format(site="53.71.03"),
        ID["print.hand_over.confirm"].format(serial=job["serial"]),
        ID["print.reprint.confirm"].format(serial=job["serial"]),
        ID["adj.decide.confirm"].format(decision=ID["adj.same_person"]),
        ID["adj.correct.confirm.same_nik"],  # the case is a same-NIK one: corrected, it is not printed
        ID["cert.revoke.confirm"].format(number=cert["number"]),
    ]
    assert sent == [], sent  # nothing was asked of the API but to look
    # and nothing changed
    assert api.get("/v1/dedup/engine").json()["paused"]
    assert next(n for n in api.get("/v1/print/nodes", params={"limit": 200}).json()["items"]
                if n["id"] == node["id"])["status"] == "LIVE"
    assert "53.71.03" in {r["site"] for r in api.get("/v1/print/sites/routes").json()}
    jobs = api.get("/v1/print/jobs", params={"enrollment_id": first["id"]}).json()["items"]
    assert [(j["id"], j["status"], j["serial"]) for j in jobs] == [(job["id"], "PRINTED", job["serial"])]
    assert api.get(f"/v1/dedup/cases/{case['id']}").json()["status"] == "OPEN"
    assert api.get(f"/v1/dedup/cases/{decided['id']}").json()["corrected_at"] is None
    assert api.get(f"/v1/certificates/{cert['number']}").json()["status"] == "VALID"
    page.close()
    watcher.check()


def test_a_refused_credential_ends_the_session_only_when_one_was_sent(allinone, token, tmp_path: Path, browser):
    url, proc = allinone
    watcher = Watcher()
    watcher.expect(401, "/v1/")
    admin_cli = {**proc.env, "EKTP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ektp.db'}"}

    def cli(*args: str) -> str:
        return subprocess.run(ektp(*args), env=admin_cli, capture_output=True, text=True, timeout=120,
                              check=True).stdout.strip().splitlines()[-1]

    credential = json.loads(cli("credentials", "create", "--name", "operator dinas", "--role", "dinas_operator",
                                "--site", "53.71"))
    # no credential sent (the login page's own call): a 401 leaves the page as it is
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page.goto(f"{url}/console/login")
    page.evaluate("() => { window.stayed = true; }")
    status = page.evaluate("() => Console.api('/v1/dedup/engine').then(() => 200, (error) => error.status)")
    assert status == 401
    page.wait_for_timeout(1000)  # a page sent round to the login page again would be a new page
    assert page.evaluate("() => window.stayed === true") and page.url.endswith("/console/login")

    # a credential sent and refused (revoked while the dashboard polls): back to the login page
    page.fill("#login-token", credential["token"])
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/console/dashboard")
    expect(page.locator("#who")).to_contain_text("operator dinas")
    expect(page.locator("#engine-state")).to_have_attribute("data-paused", "false", timeout=WAIT)
    cli("credentials", "revoke", credential["id"])
    page.wait_for_url("**/console/login", timeout=WAIT)
    assert page.evaluate("() => sessionStorage.getItem('ektp.token')") is None
    page.wait_for_timeout(1000)  # and it stays there: nothing else is refused
    assert page.url.endswith("/console/login")
    expect(page.locator("#login-link")).to_be_visible()
    page.close()
    watcher.check()


@pytest.mark.parametrize("allinone_env", [{"EKTP_CERT_VALID_DAYS": "7"}])  # inside the 14 days renewal opens
def test_a_certificate_about_to_expire_is_renewed_from_its_page(allinone, token, api, browser):
    url, _ = allinone
    watcher = Watcher()
    resident = post(api, recording(601, pickup_site="53.71.04"))
    until(lambda: status_of(api, resident["receipt_number"]) != "RECEIVED", what="recording decided")
    old = issue_certificate(api, resident["id"])
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, url, token)
    page.goto(f"{url}/console/certificates")
    page.fill("#find-number", old["number"])
    page.click("#find-form button[type=submit]")
    expect(page.locator("#cert-status")).to_have_attribute("data-status", "VALID", timeout=WAIT)
    page.click("#cert-renew")
    expect(page.locator("#cert-number")).not_to_have_text(old["number"], timeout=WAIT)
    new_number = page.inner_text("#cert-number")
    expect(page.locator("#cert-status")).to_have_attribute("data-status", "VALID")
    expect(page.locator("#flash")).to_contain_text(ID["cert.renewed"].format(number=new_number, old=old["number"]))
    shot(page, "ui-certificate-renewed")
    replaced = api.get(f"/v1/certificates/{old['number']}").json()
    assert replaced["status"] == "SUPERSEDED" and replaced["superseded_by"] == new_number
    # a revoked certificate offers no renewal
    page.fill("#revoke-reason", "uji perpanjangan")
    page.click("#revoke-form button[type=submit]")
    expect(page.locator("#cert-status")).to_have_attribute("data-status", "REVOKED", timeout=WAIT)
    expect(page.locator("#cert-renew")).to_be_hidden()
    page.close()
    watcher.check()
