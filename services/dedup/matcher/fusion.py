"""Per-modality evidence and score fusion on one calibrated scale.

Every comparison is turned into an impostor p-value with a model fitted to impostor scores
(`CALIBRATION`), and reported as *evidence* e = -log10 p (so e = 6 means "an impostor pair scores
this high once in a million"):

* fingerprint / face: z = (cos - mu) / sd, p = Q(z) (upper normal tail);
* iris: for each shift, z = (0.5 - HD) * 2 * sqrt(bits / kappa) (Daugman's normalisation by the
  number of compared bits; kappa = bits per degree of freedom); the best shift is kept and
  p = min(1, shifts_eff * Q(z_max)) corrects for having searched the shifts.

Each comparison's evidence is capped at EVIDENCE_CAP (no single finger can be "infinitely" sure
when the model's far tail is wrong).  Within a modality the available comparisons (fingers in
both records, eyes in both) are combined with Fisher's method, and the modalities are combined
again with Fisher's method, so the fused score is itself -log10 of an impostor p-value whatever
the number of modalities present.  Missing modalities are simply left out.

Thresholds follow MOSIP's `targetFPIR`: FPIR = 10^(-targetFPIR/10).  A search compares the probe
with every enrolled person, so for a gallery of N the per-pair rate is FPIR / N and the auto
threshold is log10(N / FPIR).  The grey (adjudication) threshold is `grey_ratio` times looser.

CALIBRATION is a constant table fitted on a seeded impostor sample of the synthetic model
(`services.dedup.matcher.calibrate.calibrate()`, seed 7, 20k pairs; a test re-fits and compares).
Replace it when a real extractor replaces the synthetic templates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EVIDENCE_CAP = 30.0
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class Calibration:
    finger_mu: float
    finger_sd: float
    face_mu: float
    face_sd: float
    iris_kappa: float  # iris bits per degree of freedom
    iris_shifts_eff: float  # effective number of independent shifts searched


CALIBRATION = Calibration(
    finger_mu=0.0, finger_sd=0.0884, face_mu=0.0, face_sd=0.0884, iris_kappa=3.01, iris_shifts_eff=4.1
)


@dataclass(frozen=True)
class Thresholds:
    auto: float  # fused >= auto: duplicate
    grey: float  # grey <= fused < auto: adjudication


def log10_upper_tail(z: np.ndarray) -> np.ndarray:
    """log10 Q(z) for the standard normal, vectorised, accurate far into the tail.

    Uses the Numerical Recipes `erfcc` Chebyshev fit (fractional error < 1.2e-7 everywhere),
    evaluated in log space so it never underflows.
    """
    x = np.abs(np.asarray(z, np.float64)) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.5 * x)
    coeffs = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
              0.09678418, 0.37409196, 1.00002368, -1.26551223)  # fmt: skip
    poly = np.zeros_like(t)
    for c in coeffs:
        poly = poly * t + c
    ln_erfc = np.log(t) - x * x + poly  # ln erfc(|z|/sqrt2)
    ln_q_pos = ln_erfc - math.log(2.0)  # ln Q(|z|)
    ln_q = np.where(np.asarray(z) >= 0, ln_q_pos, np.log1p(-np.exp(ln_q_pos)))
    return ln_q / _LN10


def evidence_from_z(z: np.ndarray, multiplicity: float = 1.0) -> np.ndarray:
    """-log10 of min(1, multiplicity * Q(z)), capped at EVIDENCE_CAP."""
    e = -(log10_upper_tail(z) + math.log10(multiplicity))
    return np.clip(e, 0.0, EVIDENCE_CAP)


_LN_FACT = np.array([math.lgamma(j + 1) for j in range(64)])


def fisher(evidence: np.ndarray) -> np.ndarray:
    """Combine evidence along the last axis (NaN = not available) with Fisher's method.

    With S = sum(-ln p_i) over k available values, p = exp(-S) * sum_{j<k} S^j / j!.
    Returns NaN where nothing is available.
    """
    e = np.asarray(evidence, np.float64)
    have = ~np.isnan(e)
    k = have.sum(-1)
    s = np.where(have, e, 0.0).sum(-1) * _LN10
    j = np.arange(e.shape[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = j * np.log(s)[..., None] - _LN_FACT[j]
    terms = np.where(j == 0, 0.0, terms)
    terms = np.where(j < k[..., None], terms, -np.inf)
    top = np.where(k > 0, terms.max(-1), 0.0)[..., None]
    with np.errstate(divide="ignore"):
        ln_sum = top[..., 0] + np.log(np.exp(terms - top).sum(-1))
    out = np.maximum((s - ln_sum) / _LN10, 0.0)
    return np.where(k > 0, out, np.nan)


def finger_evidence(cos: np.ndarray, valid: np.ndarray, cal: Calibration = CALIBRATION):
    """(K, 10) cosines, validity -> (K,) evidence (NaN where no finger is comparable)."""
    e = evidence_from_z((cos - cal.finger_mu) / cal.finger_sd)
    return fisher(np.where(valid, e, np.nan))


def face_evidence(cos: np.ndarray, valid: np.ndarray, cal: Calibration = CALIBRATION):
    e = evidence_from_z((cos - cal.face_mu) / cal.face_sd)
    return np.where(valid, e, np.nan)


def iris_z(hd: np.ndarray, bits: np.ndarray, cal: Calibration = CALIBRATION) -> np.ndarray:
    """Daugman-normalised z of a fractional Hamming distance over `bits` compared bits."""
    return (0.5 - hd) * 2.0 * np.sqrt(bits / cal.iris_kappa)


def iris_evidence(z_best: np.ndarray, valid: np.ndarray, cal: Calibration = CALIBRATION):
    """(K, 2) best-shift z per eye -> (K,) evidence (NaN where no eye is comparable)."""
    e = evidence_from_z(np.where(valid, z_best, 0.0), cal.iris_shifts_eff)
    return fisher(np.where(valid, e, np.nan))


def fuse(finger: np.ndarray, iris: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Per-modality evidence (NaN = missing) -> fused evidence (0 when nothing comparable)."""
    fused = fisher(np.stack([finger, iris, face], axis=-1))
    return np.nan_to_num(fused, nan=0.0)


def fpir_from_target(target_fpir: float) -> float:
    """MOSIP convention: targetFPIR 30 -> FPIR 10^-3 (one in a thousand searches)."""
    return 10.0 ** (-float(target_fpir) / 10.0)


def thresholds_for_fpir(target_fpir: float, *, gallery_size: int = 1_000_000,
                        grey_ratio: float = 10.0) -> Thresholds:  # fmt: skip
    """Fused-score thresholds for a MOSIP `targetFPIR` against a gallery of `gallery_size`.

    auto = log10(N / FPIR); grey = log10(N / (FPIR * grey_ratio)).  Both rise with targetFPIR
    (stricter) and with the gallery size.
    """
    if grey_ratio < 1:
        raise ValueError("grey_ratio must be >= 1")
    n = max(int(gallery_size), 1)
    auto = math.log10(n / fpir_from_target(target_fpir))
    return Thresholds(auto=auto, grey=auto - math.log10(grey_ratio))
