"""Two adjudicators at one desk, each in their own browser (Debian's Chromium driven by
Playwright) against a real `ektp up`: "take the next case" gives each a different case, the other
is shown who holds one, and a case is given back undecided. Screenshots go to artifacts/console/."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from console.i18n import MESSAGES
from tests.console.browser import Watcher, chromium_path, post, shot, until
from tests.support.api import recording
from tests.support.processes import ektp

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (scripts/test.sh installs it)"),
]

ID = MESSAGES["id"]
WAIT = 90_000  # ms: the machine is shared; never assert timings


def cases_of(api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Open cases: enrollment id -> case id."""
    return {c["enrollment_id"]: c["id"] for c in api.get("/v1/dedup/cases").json()["items"]}


def _adjudicator(browser, url: str, token: str, watcher: Watcher) -> Page:  # type: ignore[no-untyped-def]
    page = watcher.attach(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{url}/console/login")
    page.fill("#login-token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/console/dashboard")
    page.goto(f"{url}/console/adjudication")
    return page


def _filters_laid_out(page: Page, width: int) -> None:
    """Each filter's label beside its control, on its line: at 1280 px the four and the button on one
    line (a select took the whole width, "Alasan" sat alone at the end of the site's line); on a
    phone one a line, the controls lined up, nothing wider than the screen."""
    page.set_viewport_size({"width": width, "height": 900})
    boxes = {name: [page.locator(s).bounding_box() for s in (f"label[for=filter-{name}]", f"#filter-{name}")]
             for name in ("status", "site", "reason", "day")}

    def middle(box: dict) -> float:
        return box["y"] + box["height"] / 2

    for name, (label, control) in boxes.items():
        assert label["x"] + label["width"] <= control["x"], f"{name} at {width} px: {label} {control}"
        assert abs(middle(label) - middle(control)) < 4, f"{name} at {width} px: {label} {control}"
    button = page.locator("#case-filter button[type=submit]").bounding_box()
    if width >= 1280:
        middles = [middle(box) for box in [button, *(c for _, c in boxes.values())]]
        assert max(middles) - min(middles) < 4, f"not one line at {width} px: {middles}"
    else:
        assert len({round(c["x"]) for _, c in boxes.values()}) == 1
        assert max(c["x"] + c["width"] for _, c in boxes.values()) <= width
    page.set_viewport_size({"width": 1280, "height": 900})


def test_two_adjudicators_take_different_cases_and_see_who_holds_which(allinone, api, browser, tmp_path: Path):
    url, proc = allinone
    admin_cli = {**proc.env, "EKTP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ektp.db'}"}

    def credential(name: str) -> str:
        out = subprocess.run(ektp("credentials", "create", "--name", name, "--role", "adjudicator", "--site", "53.71"),
                             env=admin_cli, capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["token"]

    # Two residents, then two other persons recorded under their NIKs: two cases, oldest first.
    recs = [recording(seed) for seed in (7101, 7102)]
    for rec in recs:
        post(api, rec)
    impostors = []
    for n, rec in enumerate(recs):
        resident = {k: v for k, v in rec.items() if k not in ("station_recording_id", "recording", "biometrics")}
        impostors.append(post(api, recording(7201 + n, resident=resident)))
        until(lambda: any(c["enrollment_id"] == impostors[-1]["id"]
                          for c in api.get("/v1/dedup/cases").json()["items"]), timeout=120, what=f"case {n} opened")
    cases = {c["enrollment_id"]: c["id"] for c in api.get("/v1/dedup/cases").json()["items"]}
    first, second = (cases[i["id"]] for i in impostors)

    watcher = Watcher()
    watcher.expect(409, "/take")  # Budi opening the case Ani holds
    ani = _adjudicator(browser, url, credential("Adjudicator Ani"), watcher)
    budi = _adjudicator(browser, url, credential("Adjudicator Budi"), watcher)

    # Ani takes the next case: the oldest, hers to decide.
    ani.click("#take-next")
    expect(ani.locator("#case")).to_have_attribute("data-id", first, timeout=WAIT)
    expect(ani.locator("#case-mine")).to_be_visible()
    expect(ani.locator("#decision-form")).to_be_visible()
    # a same-NIK case: "different persons" is no card under this NIK, and the page says so
    expect(ani.locator("#different-label")).to_have_text(ID["adj.different_persons.same_nik"])
    expect(ani.locator("#same-nik-help")).to_have_text(ID["adj.same_nik.help"])
    expect(ani.locator("#same-nik-help")).to_be_visible()

    # Budi's list says Ani is on it; opening it shows it to him to look at, naming her, no decision.
    budi.reload()
    expect(budi.locator(f"#cases tr[data-case='{first}'] .held-by")).to_contain_text("Adjudicator Ani", timeout=WAIT)
    budi.locator(f"#cases tr[data-case='{first}'] button").click()
    expect(budi.locator("#case")).to_have_attribute("data-id", first, timeout=WAIT)
    expect(budi.locator("#case-held")).to_contain_text("Adjudicator Ani")
    expect(budi.locator("#decision-form")).to_be_hidden()
    shot(budi, "adjudication-held-by-another")

    # Budi takes the next case: the other one.
    budi.click("#take-next")
    expect(budi.locator("#case")).to_have_attribute("data-id", second, timeout=WAIT)
    expect(budi.locator("#decision-form")).to_be_visible()
    shot(budi, "adjudication-taken")

    # Ani decides hers; Budi gives his back undecided; nothing is left for Budi to take but that one.
    ani.check("input[value=different_persons]")
    ani.fill("#decision-note", "   ")  # blanks pass the form: said before the confirmation, nothing sent
    ani.click("#decision-form button[type=submit]")
    expect(ani.locator("#flash.bad")).to_have_text(f"{ID['field.note']}: {ID['form.blank']}", timeout=WAIT)
    expect(ani.locator("#decision-note")).to_be_focused()
    ani.fill("#decision-note", "sidik jari dan wajah berbeda")
    ani.click("#decision-form button[type=submit]")
    expect(ani.locator("#case")).to_be_hidden(timeout=WAIT)
    budi.click("#release")
    expect(budi.locator("#flash")).to_contain_text(ID["adj.released"], timeout=WAIT)
    assert api.get(f"/v1/dedup/cases/{second}").json()["held_by"] is None
    ani.click("#take-next")
    expect(ani.locator("#case")).to_have_attribute("data-id", second, timeout=WAIT)
    budi.click("#take-next")
    expect(budi.locator("#flash")).to_contain_text(ID["adj.none_free"], timeout=WAIT)

    decided = api.get(f"/v1/dedup/cases/{first}").json()
    assert decided["decision"] == "different_persons" and decided["decided_by"].startswith("Adjudicator Ani (")
    # the impostor is not printed under the resident's NIK: re-recorded after the NIK check
    until(lambda: api.get(f"/v1/status/{impostors[0]['receipt_number']}").json()["status"] == "ENROLL_FAILURE",
          timeout=120, what="the impostor's recording to re-record")

    # Filters and pages: a case is found by its pickup site, reason and the day it was opened.
    open_case = api.get(f"/v1/dedup/cases/{second}").json()
    budi.fill("#filter-site", open_case["site"])
    budi.select_option("#filter-reason", "same_nik")
    budi.fill("#filter-day", open_case["opened_at"][:10])
    budi.click("#case-filter button[type=submit]")
    expect(budi.locator("#cases tr")).to_have_count(1, timeout=WAIT)
    expect(budi.locator(f"#cases tr[data-case='{second}']")).to_be_visible()
    budi.select_option("#filter-reason", "grey_zone")
    budi.click("#case-filter button[type=submit]")
    expect(budi.locator("#cases tr")).to_have_count(0, timeout=WAIT)
    expect(budi.locator("#no-cases")).to_be_visible()
    # two open cases a page of one at a time: the older first, then the newer
    third = post(api, recording(7203, resident={k: v for k, v in recs[0].items()
                                               if k not in ("station_recording_id", "recording", "biometrics")}))
    until(lambda: len(api.get("/v1/dedup/cases").json()["items"]) == 2, timeout=120, what="a third case opened")
    budi.goto(f"{url}/console/adjudication?limit=1")
    expect(budi.locator(f"#cases tr[data-case='{second}']")).to_be_visible(timeout=WAIT)
    expect(budi.locator("#cases-range")).to_contain_text("1–1")
    budi.click("#cases-next")
    newer = cases_of(api)[third["id"]]
    expect(budi.locator("#cases tr[data-case]")).to_have_attribute("data-case", newer, timeout=WAIT)
    expect(budi.locator("#cases-next")).to_be_hidden()
    budi.click("#cases-prev")
    expect(budi.locator(f"#cases tr[data-case='{second}']")).to_be_visible(timeout=WAIT)
    ani.close()
    budi.close()
    watcher.check()



def test_same_person_is_said_of_the_candidate_the_adjudicator_chooses(allinone, api, token, browser):
    """A stranger who looks like two enrolled residents: 'same person' needs the choice of which
    one (the first candidate's NIK was recorded whichever the adjudicator meant)."""
    from tests.dedup.support import Recorder, grey_zone_face

    url, _ = allinone
    people = Recorder(7301)

    def case_of(enrollment: dict) -> dict:
        return until(lambda: next((c for c in api.get("/v1/dedup/cases").json()["items"]
                                   if c["enrollment_id"] == enrollment["id"]), None), timeout=120, what="case opened")

    rec_a = people.record()[0]
    post(api, rec_a)
    rec_b = grey_zone_face(people.record()[0], rec_a)  # a look-alike of A: decided another person
    look_alike = case_of(post(api, rec_b))
    assert api.post(f"/v1/dedup/cases/{look_alike['id']}/decision",
                    json={"decision": "different_persons", "note": "sidik jari berbeda"}).status_code == 200
    probe = post(api, grey_zone_face(people.record()[0], [rec_a, rec_b]))  # looks like both
    case = case_of(probe)
    assert len({c["nik"] for c in case["candidates"]}) == 2, case["candidates"]
    chosen = case["candidates"][1]  # the one the matcher ranked second

    watcher = Watcher()
    page = _adjudicator(browser, url, token, watcher)
    page.click("#take-next")
    expect(page.locator("#case")).to_have_attribute("data-id", case["id"], timeout=WAIT)
    expect(page.locator("#same-as-row")).to_be_visible()
    # The recording and its candidates stay in one row, however many and however narrow the page:
    # the row scrolls sideways and the recording stays at the left, beside the candidate in view.
    page.set_viewport_size({"width": 760, "height": 900})
    sides = page.locator("#case-compare > .person")
    expect(sides).to_have_count(3)
    tops = sides.evaluate_all("els => els.map((e) => Math.round(e.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, f"the side-by-side view wrapped: tops {tops}"
    compare = page.locator("#case-compare")
    assert compare.evaluate("e => e.scrollWidth > e.clientWidth"), "no sideways scroll"
    compare.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    page.wait_for_timeout(200)
    left = compare.evaluate("e => e.getBoundingClientRect().left")
    assert abs(sides.first.evaluate("e => e.getBoundingClientRect().left") - left) < 2, "the recording scrolled away"
    last = sides.last.evaluate("e => e.getBoundingClientRect().right")
    assert last <= compare.evaluate("e => e.getBoundingClientRect().right") + 1  # the last candidate in view
    shot(page, "adjudication-side-by-side-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.check("input[value=same_person]")
    page.fill("#decision-note", "wajah dan sidik jari sama dengan kandidat 2")
    page.click("#decision-form button[type=submit]")  # no candidate chosen: said so, nothing sent
    expect(page.locator("#flash")).to_contain_text(ID["adj.same_as.choose"], timeout=WAIT)
    assert api.get(f"/v1/dedup/cases/{case['id']}").json()["status"] == "OPEN"
    page.select_option("#same-as", chosen["enrollment_id"])
    shot(page, "adjudication-same-as")
    page.click("#decision-form button[type=submit]")
    expect(page.locator("#case")).to_be_hidden(timeout=WAIT)
    decided = api.get(f"/v1/dedup/cases/{case['id']}").json()
    assert (decided["decision"], decided["matched_enrollment_id"]) == ("same_person", chosen["enrollment_id"])
    page.close()
    watcher.check()


@pytest.mark.parametrize("allinone_env", [{"EKTP_DEDUP_CASE_HOLD_MINUTES": "0.2"}])  # a hold of 12 s
def test_a_case_stays_taken_while_its_adjudicator_works_on_it_and_runs_out_when_left(allinone, api, token, browser):
    url, _ = allinone
    rec = recording(7301)
    post(api, rec)
    resident = {k: v for k, v in rec.items() if k not in ("station_recording_id", "recording", "biometrics")}
    impostor = post(api, recording(7302, resident=resident))
    case_id = until(lambda: cases_of(api).get(impostor["id"]), timeout=120, what="case opened")
    held_until = lambda: api.get(f"/v1/dedup/cases/{case_id}").json()["held_until"]  # noqa: E731

    watcher = Watcher()
    page = _adjudicator(browser, url, token, watcher)
    page.click("#take-next")
    expect(page.locator("#case")).to_have_attribute("data-id", case_id, timeout=WAIT)
    taken = held_until()

    def working() -> str | None:  # the adjudicator reads and types; the page renews the hold
        page.fill("#decision-note", f"memeriksa {len(page.input_value('#decision-note'))}")
        later = held_until()
        return later if later and later > taken else None  # (none: it ran out)

    until(working, timeout=60, interval=1, what="the hold renewed while the adjudicator works")
    # left alone (no key, no click): renewed at most once more (for the last keys typed), then the
    # hold runs out, for another adjudicator to take
    def ran_out() -> bool:  # the API shows no holder once a hold has run out
        case = api.get(f"/v1/dedup/cases/{case_id}").json()
        return case["held_by"] is None and case["status"] == "OPEN"

    until(ran_out, timeout=90, interval=1, what="the hold's end, the page left alone")
    page.close()
    watcher.check()


def test_a_same_person_decision_is_corrected_from_the_decided_cases(allinone, api, token, browser):
    """A look-alike decided 'same person' by mistake (DUPLICATE, no card): the adjudicator finds
    the case among the decided ones and corrects it to 'different persons' with a reason; the
    recording goes on to be printed."""
    from tests.dedup.support import Recorder, grey_zone_face

    url, _ = allinone
    people = Recorder(7401)
    resident = people.record()[0]
    post(api, resident)
    look_alike = post(api, grey_zone_face(people.record()[0], resident))
    case = until(lambda: next((c for c in api.get("/v1/dedup/cases").json()["items"]
                               if c["enrollment_id"] == look_alike["id"]), None), timeout=120, what="case opened")
    assert api.post(f"/v1/dedup/cases/{case['id']}/decision",
                    json={"decision": "same_person", "note": "wajah sama"}).status_code == 200
    until(lambda: api.get(f"/v1/status/{look_alike['receipt_number']}").json()["status"] == "DUPLICATE",
          timeout=120, what="DUPLICATE")

    watcher = Watcher()
    watcher.expect(422, f"/v1/dedup/cases/{case['id']}/correct")  # the reason too short
    page = _adjudicator(browser, url, token, watcher)
    dialogs: list[str] = []  # the confirmations asked (each accepted)
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    _filters_laid_out(page, 1280)
    _filters_laid_out(page, 390)
    page.select_option("#filter-status", "DECIDED")
    page.click("#case-filter button[type=submit]")
    row = page.locator(f"#cases tr[data-case='{case['id']}']")
    expect(row.locator(".held-by")).to_contain_text(ID["adj.same_person"], timeout=WAIT)
    row.locator("button").click()
    expect(page.locator("#case")).to_have_attribute("data-id", case["id"], timeout=WAIT)
    expect(page.locator("#decision-form")).to_be_hidden()
    expect(page.locator("#correction-form")).to_be_visible()
    expect(page.locator("#correct-help")).to_be_visible()  # a grey-zone case: corrected, it is printed
    expect(page.locator("#correct-help-same-nik")).to_be_hidden()
    # the decision to judge: the candidate it named and its note (it said only who decided, and when)
    held = page.locator("#case-held")
    expect(held).to_contain_text(f"{ID['adj.same_person']} {ID['adj.same_as']} {ID['adj.candidate'].format(n=1)} · ")
    expect(held).to_contain_text("“wajah sama”")

    # three blanks pass the form: said before the confirmation (it asked first, then the API refused)
    flash = page.locator("#flash.bad")
    page.fill("#correction-reason", "   ")
    page.click("#correction-form button[type=submit]")
    expect(flash).to_have_text(f"{ID['field.reason']}: {ID['form.blank']}", timeout=WAIT)
    expect(page.locator("#correction-reason")).to_be_focused()
    assert dialogs == []
    # "ab " passes the form and is too short for the API: its field problem names the field in the
    # page's language (it said "reason: ...")
    page.fill("#correction-reason", "ab ")
    page.click("#correction-form button[type=submit]")
    expect(flash).to_contain_text(f"{ID['field.reason']}: Terlalu pendek: minimal 3.", timeout=WAIT)
    assert "reason:" not in flash.inner_text() and len(dialogs) == 1
    assert api.get(f"/v1/dedup/cases/{case['id']}").json()["corrected_at"] is None

    page.fill("#correction-reason", "sidik jari diperiksa ulang: orang yang berbeda")
    page.click("#correction-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text(ID["adj.corrected"], timeout=WAIT)
    expect(page.locator("#case-held")).to_contain_text("sidik jari diperiksa ulang", timeout=WAIT)
    expect(page.locator("#correction-form")).to_be_hidden()
    expect(row.locator(".held-by")).to_contain_text(ID["adj.corrected_mark"], timeout=WAIT)
    shot(page, "adjudication-corrected")
    corrected = api.get(f"/v1/dedup/cases/{case['id']}").json()
    assert (corrected["decision"], corrected["correction_reason"]) == (
        "different_persons", "sidik jari diperiksa ulang: orang yang berbeda")
    until(lambda: api.get(f"/v1/status/{look_alike['receipt_number']}").json()["status"]
          in ("PRINT_READY", "SENT_FOR_PRINTING", "PRINTED"), timeout=120, what="the corrected record goes to print")
    page.close()
    watcher.check()
