import math

import numpy as np

from services.dedup.matcher import fusion
from services.dedup.matcher.fusion import fpir_from_target, fisher, log10_upper_tail, thresholds_for_fpir


def test_target_fpir_follows_the_mosip_convention():
    assert math.isclose(fpir_from_target(30), 1e-3)
    assert math.isclose(fpir_from_target(40), 1e-4)


def test_thresholds_rise_with_target_and_gallery_size():
    autos = [thresholds_for_fpir(t, gallery_size=10_000).auto for t in (20, 30, 40, 50, 60)]
    assert autos == sorted(autos) and len(set(autos)) == 5
    sizes = [thresholds_for_fpir(40, gallery_size=n).auto for n in (10, 10_000, 1_000_000)]
    assert sizes == sorted(sizes)
    t = thresholds_for_fpir(40, gallery_size=1_000_000)
    assert math.isclose(t.auto, 10.0) and t.grey < t.auto


def test_log_tail_matches_erfc():
    for z in (-3.0, -0.5, 0.0, 1.0, 4.0, 8.0, 20.0):
        exact = math.log10(0.5 * math.erfc(z / math.sqrt(2)))
        assert abs(log10_upper_tail(np.array(z)) - exact) < 1e-6 * max(1, abs(exact))


def test_fisher_is_monotone_and_keeps_a_single_value():
    assert math.isclose(float(fisher(np.array([3.0, np.nan]))), 3.0, rel_tol=1e-9)
    assert fisher(np.array([3.0, 3.0])) > 3.0
    assert fisher(np.array([3.0, 0.0])) < 3.0  # a non-matching modality lowers the evidence
    assert np.isnan(fisher(np.array([np.nan, np.nan])))


def test_fused_scores_of_impostor_pairs_are_calibrated():
    """P(fused >= t) <= ~10^-t on random impostor pairs (the fused scale is a p-value)."""
    rng = np.random.default_rng(5)
    k = 200_000
    fcos = rng.standard_normal((k, 10)) * fusion.CALIBRATION.finger_sd
    finger = fusion.finger_evidence(fcos, np.ones((k, 10), bool))
    face = fusion.face_evidence(rng.standard_normal(k) * fusion.CALIBRATION.face_sd, np.ones(k, bool))
    fused = fusion.fuse(finger, np.full(k, np.nan), face)
    for t in (1, 2, 3):
        assert np.mean(fused >= t) < 1.3 * 10.0**-t
