"""The console and the public pages in a real browser (Debian's Chromium driven by Playwright)
against a real `ektp up`: an operator logs in, pauses de-duplication and watches the backlog grow,
resumes and watches it drain, sees a new print server appear and drains it, decides an
adjudication case, issues a certificate, downloads its PDF and verifies it on the public page
(pasted and uploaded), revokes it; a resident checks a status. Every page is screenshotted under
artifacts/console/ and must have logged no console error and made no failed request."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.browser import (
    SHOTS,
    Watcher,
    chromium_path,
    login,
    post,
    shot,
    status_of,
    until,
)
from tests.support.api import recording
from tests.support.processes import Proc, ektp

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test.sh installs it)"),
]

SITE = "53.71.04"
AGENT = "console-test-agent"
WAIT = 90_000  # ms: the machine is shared; never assert timings


def node_status(client: httpx.Client, name: str) -> str | None:
    nodes = client.get("/v1/print/nodes", params={"limit": 200}).json()["items"]
    return next((n["status"] for n in nodes if n["name"] == name), None)


def test_console_in_a_browser(allinone, token, tmp_path: Path, api, browser):
    url, proc = allinone
    watcher = Watcher()
    agent: Proc | None = None
    try:
        operator = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = watcher.attach(operator.new_page())
        page.on("dialog", lambda dialog: dialog.accept())

        # ---- log in; the dashboard shows the engine running ------------------------------
        login(page, url, token, shot_name="01-login")
        expect(page.locator("#engine-state")).to_have_attribute("data-paused", "false", timeout=WAIT)
        for link in ("dashboard", "print", "enrollments", "adjudication", "certificates"):
            expect(page.locator(f"[data-page-link={link}]")).to_be_visible()

        # ---- pause; recordings arrive; the backlog grows ----------------------------------
        page.fill("#pause-reason", "lisensi penunggalan habis / licence expired")
        page.click("#pause")
        expect(page.locator("#engine-state")).to_have_attribute("data-paused", "true", timeout=WAIT)
        expect(page.locator("#engine-reason")).to_contain_text("lisensi")
        recs = [recording(seed, pickup_site=SITE) for seed in (101, 102, 103, 104)]
        accepted = [post(api, rec) for rec in recs]
        expect(page.locator("#backlog-waiting")).to_have_text("4", timeout=WAIT)
        expect(page.locator("#backlog-sites")).to_contain_text(SITE)
        until(lambda: int(page.get_attribute("#backlog-chart", "data-samples") or 0) >= 3, what="chart samples")
        assert page.locator("#backlog-line").get_attribute("points")
        expect(page.locator("[data-status=RECEIVED] .tile-n")).to_have_text("4", timeout=WAIT)
        shot(page, "02-dashboard-paused")

        # ---- resume; the backlog drains -----------------------------------------------------
        page.click("#resume")
        expect(page.locator("#engine-state")).to_have_attribute("data-paused", "false", timeout=WAIT)
        expect(page.locator("#backlog-waiting")).to_have_text("0", timeout=WAIT)
        until(lambda: all(status_of(api, a["receipt_number"]) != "RECEIVED" for a in accepted),
              timeout=120, what="recordings de-duplicated")
        shot(page, "03-dashboard-resumed")

        # ---- a new print server appears on the print page; drain it -------------------------
        agent = Proc(AGENT, ektp("print-agent", "--service-url", url, "--site", "53.71.05", "--driver", "sim",
                                 "--name", AGENT, "--output-dir", str(tmp_path / "cards"), "--token", token),
                     {**proc.env}, tmp_path / "agent.log").start()
        page.click("[data-page-link=print]")
        page.wait_for_url("**/console/print")
        row = page.locator(f"#nodes tr[data-node={AGENT}]")
        expect(row).to_have_attribute("data-status", "LIVE", timeout=WAIT)
        expect(row).to_contain_text("53.71.05")
        expect(page.locator("#stock tr[data-site='53.71.04']")).to_be_visible()
        expect(page.locator("#routes tr[data-site='53.71.03']")).to_contain_text("53.71")
        shot(page, "04-print")
        row.get_by_role("button").click()
        # The row leaves LIVE: DRAINING while the agent finishes its cards, then gone from the
        # table when it deregisters. An idle agent hears of the drain at its open claim and
        # can be gone before the page's next refresh, so either is what the operator sees.
        expect(page.locator(f"#nodes tr[data-node={AGENT}][data-status=LIVE]")).to_have_count(0, timeout=WAIT)
        until(lambda: node_status(api, AGENT) == "GONE", timeout=WAIT / 1000, what="drained agent deregistered")
        until(lambda: not agent.alive, timeout=WAIT / 1000, what="drained agent exited")
        assert agent.popen.returncode == 0, agent.log()[-2000:]

        # ---- adjudication: the same NIK comes back with another person's biometrics -------
        first = accepted[0]
        resident = {k: v for k, v in recs[0].items() if k not in ("station_recording_id", "recording", "biometrics")}
        impostor = post(api, recording(9001, resident=resident))

        def open_case() -> dict | None:
            cases = api.get("/v1/dedup/cases", params={"status": "OPEN"}).json()["items"]
            return next((c for c in cases if c["enrollment_id"] == impostor["id"]), None)

        case = until(open_case, timeout=120, what="adjudication case opened")
        page.click("[data-page-link=adjudication]")
        page.wait_for_url("**/console/adjudication")
        page.locator(f"#cases tr[data-case='{case['id']}'] button").click()
        expect(page.locator("#case")).to_be_visible()
        expect(page.locator("#case-compare .person")).to_have_count(1 + len(case["candidates"]))
        expect(page.locator(f"#case-compare [data-enrollment='{first['id']}']")).to_be_visible()
        expect(page.locator("#case-compare .scores").first).to_be_visible()
        shot(page, "05-adjudication")
        page.check("input[value=different_persons]")
        page.fill("#decision-note", "sidik jari dan wajah berbeda; NIK dipakai orang lain")
        page.click("#decision-form button[type=submit]")
        expect(page.locator(f"#cases tr[data-case='{case['id']}']")).to_have_count(0, timeout=WAIT)
        decided = api.get(f"/v1/dedup/cases/{case['id']}").json()
        assert decided["status"] == "DECIDED" and decided["decision"] == "different_persons"

        # ---- a certificate: issue, download the PDF, check it publicly, revoke --------------
        page.goto(f"{url}/console/certificates?enrollment={first['id']}")
        expect(page.locator("#issue-enrollment")).to_have_value(first["id"])
        page.click("#issue-form button[type=submit]")
        expect(page.locator("#cert-status")).to_have_attribute("data-status", "VALID", timeout=WAIT)
        cert_token = page.input_value("#cert-token")
        number = page.inner_text("#cert-number")
        assert cert_token and number
        with page.expect_download() as download:
            page.click("#cert-pdf")
        pdf = SHOTS / "suket.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
        shot(page, "06-certificates")

        resident_view = browser.new_context(viewport={"width": 1100, "height": 800})
        public = watcher.attach(resident_view.new_page())
        public.goto(f"{url}/console/verify")
        public.fill("#verify-token", cert_token)
        public.click("#verify-form button[type=submit]")
        expect(public.locator("#verify-result")).to_have_attribute("data-status", "valid", timeout=WAIT)
        expect(public.locator("#verify-verdict")).to_have_text("SAH")
        shot(public, "07-verify-pasted")
        public.goto(f"{url}/console/verify")
        public.set_input_files("#verify-file", str(pdf))
        public.click("#upload-form button[type=submit]")
        expect(public.locator("#verify-result")).to_have_attribute("data-status", "valid", timeout=WAIT)
        assert public.input_value("#verify-token") == cert_token
        shot(public, "08-verify-uploaded")

        page.fill("#revoke-reason", "data kependudukan salah / wrong record")
        page.click("#revoke-form button[type=submit]")
        expect(page.locator("#cert-status")).to_have_attribute("data-status", "REVOKED", timeout=WAIT)
        public.goto(f"{url}/console/verify?token={cert_token}")
        expect(public.locator("#verify-result")).to_have_attribute("data-status", "revoked", timeout=WAIT)
        expect(public.locator("#verify-verdict")).to_have_text("DICABUT")

        # ---- enrollment search by NIK: the record and its timeline --------------------------
        page.click("[data-page-link=enrollments]")
        page.wait_for_url("**/console/enrollments")
        page.fill("#search-q", recs[0]["nik"])
        page.click("#search-form button[type=submit]")
        expect(page.locator("#results tr")).to_have_count(2, timeout=WAIT)  # the resident, and the impostor
        page.click(f"#results tr[data-id='{first['id']}']")
        expect(page.locator("#record")).to_have_attribute("data-id", first["id"], timeout=WAIT)
        expect(page.locator("#record-timeline li").first).to_be_visible()
        expect(page.locator("#record-timeline")).to_contain_text("Surat Keterangan")
        shot(page, "09-enrollment")

        page.click("[data-page-link=dashboard]")
        page.wait_for_url("**/console/dashboard")
        expect(page.locator("#certificate-counts")).to_contain_text("1", timeout=WAIT)
        expect(page.locator("#node-counts")).to_be_visible()
        shot(page, "10-dashboard")

        # ---- a resident checks a status, in Indonesian then in English ----------------------
        public.goto(f"{url}/")
        public.wait_for_url("**/console/status")
        watcher.expect(404, "/v1/status/")
        public.fill("#receipt", "KPG-XXXX-0000")
        public.click("#status-form button[type=submit]")
        expect(public.locator("#status-missing")).to_be_visible(timeout=WAIT)
        public.fill("#receipt", first["receipt_number"])
        public.click("#status-form button[type=submit]")
        expect(public.locator("#status-result")).to_be_visible(timeout=WAIT)
        assert public.locator("#status-timeline li").count() >= 3
        body = public.inner_text("body")
        assert recs[0]["nik"] not in body and recs[0]["name"].upper() not in body.upper()
        shot(public, "11-status")
        public.click("[data-lang=en]")
        expect(public.locator("h1")).to_have_text("KTP-el status")
        expect(public.locator("#status-timeline")).to_contain_text("Recorded", timeout=WAIT)
        shot(public, "12-status-en")
        # Asked next, an unknown receipt is what the address keeps (a language switch showed the
        # resident asked for before).
        public.fill("#receipt", "KPG-XXXX-0000")
        public.click("#status-form button[type=submit]")
        expect(public.locator("#status-missing")).to_be_visible(timeout=WAIT)
        assert public.url.endswith("?receipt=KPG-XXXX-0000"), public.url

        # ---- a kecamatan print operator gets the pages of that role, and only those ---------
        created = subprocess.run(
            ektp("credentials", "create", "--name", "operator cetak Oebobo", "--role", "print_operator",
                 "--site", SITE),
            env={**proc.env, "EKTP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ektp.db'}"},
            capture_output=True, text=True, timeout=120, check=True)
        operator_token = json.loads(created.stdout.strip().splitlines()[-1])["token"]
        printer_view = browser.new_context(viewport={"width": 1280, "height": 900})
        printer = watcher.attach(printer_view.new_page())
        printer.goto(f"{url}/console/login?next=/console/print")
        printer.fill("#login-token", operator_token)
        printer.click("#login-form button[type=submit]")
        printer.wait_for_url("**/console/print")
        expect(printer.locator("#who")).to_contain_text(SITE)
        expect(printer.locator("[data-page-link=print]")).to_be_visible()
        expect(printer.locator("[data-page-link=adjudication]")).to_be_hidden()
        expect(printer.locator("[data-page-link=certificates]")).to_be_hidden()
        expect(printer.locator("#nodes tr[data-node]").first).to_be_visible(timeout=WAIT)
        printer.goto(f"{url}/console/adjudication")
        expect(printer.locator("#forbidden")).to_be_visible()
        expect(printer.locator("#cases")).to_be_hidden()

        for p in (page, public, printer):
            p.close()
        watcher.check()
    except BaseException:
        print(proc.log()[-6000:])
        if agent is not None:
            print(agent.log()[-3000:])
        raise
    finally:
        if agent is not None:
            agent.stop(timeout=20)
