"""The console's pages without a running system: both languages complete, every page renders in
each, the language choice sticks, the QR upload refuses what it cannot read; and the browser
watcher the scenario test relies on does catch console errors and failed requests."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from console import i18n, roles
from console.routes import PAGES, router
from services.certificate.models import RevokeCode
from services.dedup.abis.protocol import FailureReason, failure_name
from shared.certificate.token import Reason
from shared.errors import install_error_handlers
from tests.console.browser import Watcher, chromium_path

CONSOLE = Path(__file__).resolve().parents[2] / "console"
# The refusals of an adjudication case (409: case_held, case_decided, case_open, case_corrected, ...),
# which the adjudication page says in words: the API's detail is in English only.
CASE_CONFLICTS = re.findall(r'code="(case_\w+)"', (CONSOLE.parent / "services" / "dedup" / "service.py").read_text())
# Every reason the services give as a code, which the pages show in words (Console.reason): a
# de-duplication's (services/dedup: the matcher, the same-NIK rules, an adjudicator's decision, an
# external ABIS's refusals), a certificate's revocation, a verification's, a cancelled card's.
REASON_CODES = [
    "same_nik_same_person_replacement", "same_nik_different_biometrics", "same_nik_and_other_match",
    "score_in_grey_zone", "score_above_auto_threshold", "duplicate_record", "empty_gallery", "too_few_usable_fingers",
    "no_usable_iris", "unknown_format", "bad_template_size", "bad_template_values", "adjudicated:same_person",
    "adjudicated:different_persons", "nik_held_by_another_person", "replaced",
    *(failure_name(code) for code in (FailureReason.NO_BIOMETRIC_DATA, FailureReason.INVALID_TEMPLATE_FORMAT,
                                      FailureReason.QUALITY_CHECK_FAILED)),
    *(code.value for code in RevokeCode), *(reason.value for reason in Reason),
]


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://console.test")


def test_both_languages_have_the_same_keys_and_no_empty_text():
    indonesian, english = i18n.MESSAGES["id"], i18n.MESSAGES["en"]
    assert set(indonesian) == set(english)
    assert all(v.strip() for v in [*indonesian.values(), *english.values()])


def test_every_literal_key_in_templates_and_scripts_is_in_the_dictionary():
    keys = set(i18n.MESSAGES["id"])
    used: set[str] = set()
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("static/*.js")]:
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", path.read_text()))
    assert len(used) > 100
    assert used <= keys, sorted(used - keys)
    # keys built from codes: every code the pages can meet has its text
    for prefix, codes in {"page": PAGES, "nav": ["status", "verify", *roles.PAGE_ACTIONS],
                          "role": ["admin", "dinas_operator", "kecamatan_operator", "adjudicator", "print_operator"],
                          "status": ["RECEIVED", "ENROLL_FAILURE", "ADJUDICATION", "DUPLICATE", "PRINT_READY",
                                     "SENT_FOR_PRINTING", "PRINTED", "ISSUED"],
                          "verify.status": ["valid", "expired", "revoked", "unknown", "invalid"],
                          "node": ["LIVE", "DRAINING", "LOST"], "reason": REASON_CODES, "error": CASE_CONFLICTS,
                          "dedup": ["WAITING", "ADJUDICATION", "DECIDED", "unique", "duplicate", "adjudication",
                                    "enroll_failure"]}.items():
        assert {f"{prefix}.{c}" for c in codes} <= keys, sorted({f"{prefix}.{c}" for c in codes} - keys)


def test_role_table_admits_admin_everywhere_and_station_nowhere():
    assert all(roles.allowed("admin", a) for a in roles.ACTIONS)
    assert not any(roles.allowed("station", a) for a in roles.ACTIONS)
    assert roles.allowed("adjudicator", "dedup.control") and not roles.allowed("dinas_operator", "dedup.control")


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_every_page_renders_in_each_language(client, lang):
    async with client:
        for page in PAGES:
            response = await client.get(f"/console/{page}", params={"lang": lang})
            assert response.status_code == 200, page
            title = i18n.MESSAGES[lang][f"page.{page}"]
            assert f"<h1>{title}</h1>" in response.text
            assert f'<html lang="{lang}">' in response.text
            assert f'src="/console/static/{page}.js"' in response.text
            script = await client.get(f"/console/static/{page}.js")
            assert script.status_code == 200 and "Console.page" in script.text


async def test_the_language_choice_is_kept_in_a_cookie(client):
    async with client:
        chosen = await client.get("/console/status", params={"lang": "en"})
        assert chosen.cookies.get(i18n.COOKIE) == "en"
        again = await client.get("/console/verify")
        assert "<h1>Verify a certificate</h1>" in again.text
        client.cookies.set(i18n.COOKIE, "xx")  # not a language: the default
        default = await client.get("/console/verify")
        assert "<h1>Verifikasi Surat Keterangan</h1>" in default.text


async def test_root_leads_to_the_public_status_page_and_unknown_pages_are_404(client):
    async with client:
        assert (await client.get("/")).headers["location"] == "/console/status"
        assert (await client.get("/console/")).headers["location"] == "/console/dashboard"
        assert (await client.get("/console/nothing")).status_code == 404
        assert (await client.get("/console/static/nothing.js")).status_code == 404


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_an_unknown_console_address_is_a_page_in_its_language_that_leads_back(client, lang):
    messages = i18n.MESSAGES[lang]
    async with client:
        for path in ("/console/nope", "/console/no/such/page", "/console/static/a/b"):
            response = await client.get(path, params={"lang": lang})
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert f'<html lang="{lang}">' in response.text
            assert f"<h1>{messages['page.not_found']}</h1>" in response.text
            assert messages["not_found.lead"] in response.text
            assert 'id="back-to-console" class="button" href="/console/"' in response.text
            assert 'href="/console/static/console.css"' in response.text  # the console's style
            assert f"<code class=\"mono\">{path}</code>" in response.text
        # the address is shown as text, never as markup
        odd = await client.get("/console/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        assert odd.status_code == 404 and "<script>alert(1)" not in odd.text and "&lt;script&gt;" in odd.text
        # a file the pages load is not a page; the API's addresses keep their JSON errors
        assert (await client.get("/console/static/nothing.js")).headers["content-type"] == "application/json"
        api = await client.get("/v1/nope")
        assert api.status_code == 404 and api.json()["error"] == "not_found"


async def test_an_upload_without_a_certificate_qr_says_so(client, tmp_path):
    from PIL import Image

    image = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(image)
    async with client:
        for content in (image.read_bytes(), b"not an image at all"):
            response = await client.post("/console/verify", files={"file": ("x.png", content, "image/png")})
            assert response.status_code == 200
            assert 'id="upload-error"' in response.text
            assert i18n.MESSAGES["id"]["verify.upload.unreadable"] in response.text


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test.sh installs it)")
def test_the_watcher_catches_console_errors_and_failed_requests(browser):
    page = browser.new_page()
    watcher = Watcher()
    watcher.attach(page)
    page.route("http://console.test/**", lambda route: route.fulfill(
        status=404 if "expected" in route.request.url else 500, body="{}"))
    page.route("http://unreachable.test/**", lambda route: route.abort("connectionrefused"))
    watcher.expect(404, "/expected")
    page.goto("http://console.test/expected-page")  # an expected 404
    page.evaluate("""async () => {
        console.error("boom");
        await fetch("http://console.test/expected-data");
        await fetch("http://console.test/broken");
        await fetch("http://unreachable.test/x").catch(() => null);
    }""")
    page.wait_for_timeout(500)
    with pytest.raises(AssertionError) as failure:
        watcher.check()
    text = str(failure.value)
    assert "console error: boom" in text
    assert "HTTP 500" in text and "/broken" in text
    assert "request failed" in text and "unreachable.test" in text
    assert "expected-data" not in text


def test_the_example_receipt_has_the_form_of_a_receipt():
    from services.enrollment.receipts import normalise

    for lang in ("id", "en"):
        example = i18n.MESSAGES[lang]["status.receipt.placeholder"].split()[-1]
        assert normalise(example) == example, example
