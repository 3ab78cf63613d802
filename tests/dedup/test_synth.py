import numpy as np

from ektp.synth.biometrics import capture, capture_arrays, new_person, random_capture_arrays
from ektp.synth.population import EXPECTED, make_population


def _hd(c1, m1, c2, m2, shifts=(0,)):
    best = None
    for s in shifts:
        m = m1 & np.roll(m2, s, -1)
        h = np.bitwise_count((c1 ^ np.roll(c2, s, -1)) & m).sum(-1) / np.bitwise_count(m).sum(-1)
        best = h if best is None else np.minimum(best, h)
    return best


def test_iris_impostor_distribution_is_centred_on_half_and_narrow():
    rng = np.random.default_rng(0)
    a, b = random_capture_arrays(3000, rng), random_capture_arrays(3000, rng)
    hd = _hd(a["iris_code"], a["iris_mask"], b["iris_code"], b["iris_mask"]).ravel()
    assert abs(hd.mean() - 0.5) < 0.005
    assert 0.015 < hd.std() < 0.03
    best = _hd(a["iris_code"], a["iris_mask"], b["iris_code"], b["iris_mask"], range(-4, 5)).ravel()
    assert 0.46 < best.mean() < 0.5  # searching rotations pulls impostors slightly below 0.5


def test_iris_genuine_distances_are_between_a_tenth_and_three_tenths():
    rng = np.random.default_rng(1)
    people = [new_person(rng) for _ in range(500)]
    a, b = capture_arrays(people, rng), capture_arrays(people, rng)
    hd = _hd(a["iris_code"], a["iris_mask"], b["iris_code"], b["iris_mask"], range(-4, 5)).ravel()
    assert 0.1 < np.median(hd) < 0.3
    assert np.percentile(hd, 99) < 0.35


def test_finger_and_face_similarity_degrade_with_quality():
    rng = np.random.default_rng(2)
    people = [new_person(rng) for _ in range(300)]
    means = []
    for q in (90, 65, 45):
        a, b = capture_arrays(people, rng, quality=q), capture_arrays(people, rng, quality=q)
        means.append(((a["fingers"] * b["fingers"]).sum(-1).mean(), (a["face"] * b["face"]).sum(-1).mean()))
    assert means[0][0] > means[1][0] > means[2][0] > 0.1
    assert means[0][1] > means[1][1] > means[2][1] > 0.2


def test_capture_is_wire_shaped_with_exceptions_for_missing_fingers():
    rng = np.random.default_rng(3)
    bio = capture(new_person(rng, missing_fingers=["LEFT_LITTLE"]), rng, missing_fingers=["RIGHT_THUMB"])
    assert len(bio["fingerprints"]) == 8 and len(bio["irises"]) == 2
    assert {e["position"] for e in bio["exceptions"]} == {"LEFT_LITTLE", "RIGHT_THUMB"}
    assert "photo_jpeg" not in bio and bio["face"]["format"] == "ektp-face-emb"


def test_poor_capture_qualities_are_all_below_40():
    rng = np.random.default_rng(4)
    bio = capture(new_person(rng), rng, poor=True)
    qs = [t["quality"] for t in bio["fingerprints"] + bio["irises"]] + [bio["face"]["quality"]]
    assert max(qs) < 40


def test_population_is_reproducible_and_has_consistent_ground_truth():
    kw = dict(seed=8, duplicate_rate=0.2, recapture_rate=0.1, poor_rate=0.1, missing_finger_rate=0.1)
    a, b = make_population(200, **kw), make_population(200, **kw)
    ra, rb = list(a), list(b)
    assert [r.biometrics for r in ra[:5]] == [r.biometrics for r in rb[:5]]
    kinds = {r.kind for r in ra}
    assert kinds == {"unique", "duplicate", "recapture", "poor", "missing_fingers"}
    seen = {}
    for key, person_id, kind, _ in ra:
        truth = a.truth[key]
        assert truth.expected_outcome == EXPECTED[kind] and truth.person_id == person_id
        if kind in ("duplicate", "recapture"):
            assert seen[truth.matches] == person_id  # matches an earlier record of the person
        seen[key] = person_id
