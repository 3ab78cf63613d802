"""Re-fit `fusion.CALIBRATION` on impostor pairs of the synthetic model (a tool, not a runtime path).

    .venv/bin/python -m services.dedup.matcher.calibrate

Impostor pairs are scored through a real `Gallery`, so int8 quantisation and masks are included.
finger/face: mean and sd of impostor cosines.  iris: kappa = variance of the unscaled Daugman
statistic (0.5 - HD) * 2 * sqrt(bits) at a single shift; shifts_eff = the largest ratio
P(best-shift z >= z0) / Q(z0) over z0 in 2.0..3.0 (conservative).
"""

from __future__ import annotations

import numpy as np

from . import fusion
from .gallery import Gallery
from .templates import TemplateBatch


def calibrate(seed: int = 7, n: int = 20_000) -> fusion.Calibration:
    from ektp.synth.biometrics import random_capture_arrays  # test/bench dependency only

    rng = np.random.default_rng(seed)
    gallery = Gallery()
    gallery.add_batch([f"g{i}" for i in range(n)], TemplateBatch.from_arrays(**random_capture_arrays(n, rng)))
    probes = TemplateBatch.from_arrays(**random_capture_arrays(n // 100, rng))
    fc, cc, z0, zmax = [], [], [], []
    slots = np.arange(n)
    for i in range(len(probes)):
        one = TemplateBatch(*(getattr(probes, f)[i : i + 1] for f in TemplateBatch.__dataclass_fields__))
        r = gallery.raw(one, slots)
        fc.append(r.finger_cos[r.finger_ok])
        cc.append(r.face_cos[r.face_ok])
        ok = r.iris_ok.all(-1)
        mid = r.iris_z.shape[-1] // 2
        z0.append(r.iris_z[..., mid][ok])
        zmax.append(r.iris_z.max(-1)[ok])
    fc, cc, z0, zmax = map(np.concatenate, (fc, cc, z0, zmax))
    kappa = float(np.var(z0 * np.sqrt(fusion.CALIBRATION.iris_kappa)))
    zmax_fit = zmax * np.sqrt(fusion.CALIBRATION.iris_kappa / kappa)
    ratios = [
        float(np.mean(zmax_fit >= t) / 10 ** fusion.log10_upper_tail(np.array(t)))
        for t in np.linspace(2.0, 3.0, 5)
    ]
    return fusion.Calibration(
        finger_mu=float(fc.mean()), finger_sd=float(fc.std()),
        face_mu=float(cc.mean()), face_sd=float(cc.std()),
        iris_kappa=kappa, iris_shifts_eff=max(1.0, max(ratios)),
    )  # fmt: skip


if __name__ == "__main__":
    print(calibrate())
