"""Built-in open 1:N matcher (NumPy only): decode templates, gallery search, fusion, decision."""

from .engine import OUTCOMES, Decision, decide
from .fusion import CALIBRATION, Thresholds, fpir_from_target, thresholds_for_fpir
from .gallery import BYTES_PER_PERSON, Candidate, Gallery
from .templates import Templates, TemplateBatch, decode

__all__ = [
    "BYTES_PER_PERSON", "CALIBRATION", "OUTCOMES", "Candidate", "Decision", "Gallery",
    "TemplateBatch", "Templates", "Thresholds", "decide", "decode", "fpir_from_target",
    "thresholds_for_fpir",
]  # fmt: skip
