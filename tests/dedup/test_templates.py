import base64

import numpy as np

from ektp.synth.biometrics import FINGER_POSITIONS, capture, new_person
from services.dedup.matcher import decode


def test_good_capture_decodes_to_unit_vectors():
    rng = np.random.default_rng(0)
    t = decode(capture(new_person(rng), rng, quality=80))
    assert t.usable and t.usable_fingers == 10
    np.testing.assert_allclose(np.linalg.norm(t.batch.fingers[0], axis=-1), 1, rtol=1e-5)
    assert t.batch.iris_ok.all() and t.batch.face_ok.all()


def test_poor_capture_is_unusable_with_reasons():
    rng = np.random.default_rng(1)
    t = decode(capture(new_person(rng), rng, poor=True))
    assert set(t.reasons) == {"too_few_usable_fingers", "no_usable_iris"}


def test_bad_size_and_unknown_format_are_reasons():
    rng = np.random.default_rng(2)
    bio = capture(new_person(rng), rng)
    bio["fingerprints"][0]["template"] = base64.b64encode(b"\0" * 100).decode()
    bio["irises"][0]["format"] = "vendor-x"
    assert set(decode(bio).reasons) == {"bad_template_size", "unknown_format"}


def test_missing_fingers_with_exceptions_remain_usable():
    rng = np.random.default_rng(3)
    missing = FINGER_POSITIONS[:8]
    t = decode(capture(new_person(rng), rng, quality=80, missing_fingers=missing))
    assert t.usable and t.usable_fingers == 2  # fewer than 4, but all that exist


def test_fingers_missing_without_exceptions_are_too_few():
    rng = np.random.default_rng(4)
    bio = capture(new_person(rng), rng, quality=80)
    bio["fingerprints"] = bio["fingerprints"][:2]
    assert decode(bio).reasons == ("too_few_usable_fingers",)
