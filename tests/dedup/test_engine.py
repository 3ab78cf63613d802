import numpy as np

from ektp.synth.biometrics import FINGER_POSITIONS, capture, new_person
from ektp.synth.population import make_population
from services.dedup.matcher import Gallery, decide, decode, thresholds_for_fpir


def _decide(t, gallery, th, **kw):
    return decide(t, gallery, auto_threshold=th.auto, grey_threshold=th.grey, **kw)


def test_new_person_is_unique(enrolled, thresholds, rng):
    gallery, _ = enrolled
    d = _decide(decode(capture(new_person(rng), rng)), gallery, thresholds)
    assert d.outcome == "unique" and d.candidates[0].fused < thresholds.grey


def test_same_person_under_another_nik_is_a_duplicate(enrolled, people, thresholds, rng):
    gallery, _ = enrolled
    for i in (0, 17, 250):
        d = _decide(decode(capture(people[i], rng)), gallery, thresholds)
        assert d.outcome == "duplicate" and d.candidates[0].ref_id == f"ref-{i}"
        assert None not in (d.candidates[0].finger, d.candidates[0].iris, d.candidates[0].face)


def test_recapture_matches_its_own_record_and_can_be_ignored(enrolled, people, thresholds, rng):
    gallery, _ = enrolled
    t = decode(capture(people[5], rng, quality=55))
    d = _decide(t, gallery, thresholds)
    assert d.outcome == "duplicate" and d.candidates[0].ref_id == "ref-5"
    assert _decide(t, gallery, thresholds, ignore_ref_ids={"ref-5"}).outcome == "unique"


def test_poor_capture_is_an_enroll_failure(enrolled, people, thresholds, rng):
    gallery, _ = enrolled
    d = _decide(decode(capture(people[3], rng, poor=True)), gallery, thresholds)
    assert d.outcome == "enroll_failure" and "no_usable_iris" in d.reasons and not d.candidates


def test_missing_fingers_are_still_matched(thresholds, rng):
    person = new_person(rng, missing_fingers=FINGER_POSITIONS[1:])  # one thumb left
    gallery = Gallery()
    gallery.add("amputee", decode(capture(person, rng)))
    for i in range(50):
        gallery.add(f"other-{i}", decode(capture(new_person(rng), rng)))
    d = _decide(decode(capture(person, rng)), gallery, thresholds)
    assert d.outcome == "duplicate" and d.candidates[0].ref_id == "amputee"


def test_crafted_grey_zone_goes_to_adjudication(enrolled, thresholds, rng):
    """A stranger whose face alone resembles ref-9: evidence between the two thresholds."""
    gallery, templates = enrolled
    probe = decode(capture(new_person(rng), rng))
    target_face = templates["ref-9"].batch.face[0]
    noise = probe.batch.face[0] - (probe.batch.face[0] @ target_face) * target_face
    noise /= np.linalg.norm(noise)
    slot = gallery._slot["ref-9"]
    lo, hi = 0.0, 1.0
    for _ in range(40):  # bisect the face cosine so the fused score lands mid grey zone
        c = (lo + hi) / 2
        probe.batch.face[0] = c * target_face + np.sqrt(1 - c * c) * noise
        fused = gallery.score(probe.batch, np.array([slot])).fused[0]
        lo, hi = (c, hi) if fused < (thresholds.auto + thresholds.grey) / 2 else (lo, c)
    d = _decide(probe, gallery, thresholds)
    assert d.outcome == "adjudication"
    assert d.candidates[0].ref_id == "ref-9" and thresholds.grey <= d.candidates[0].fused < thresholds.auto


def test_population_decisions_agree_with_ground_truth():
    pop = make_population(600, seed=21, duplicate_rate=0.1, recapture_rate=0.05, poor_rate=0.05,
                          missing_finger_rate=0.05)  # fmt: skip
    gallery, wrong = Gallery(shortlist=50), []
    for key, _, kind, bio in pop:
        th = thresholds_for_fpir(60, gallery_size=max(len(gallery), 1))
        t = decode(bio)
        d = _decide(t, gallery, th)
        truth = pop.truth[key]
        if d.outcome != truth.expected_outcome or (truth.matches and d.candidates[0].ref_id != truth.matches):
            wrong.append((key, kind, d.outcome))
        if d.outcome == "unique":
            gallery.add(key, t)
    assert wrong == []
