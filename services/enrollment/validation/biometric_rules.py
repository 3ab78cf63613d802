"""Rules of the biometrics block: template decoding, completeness, usability, re-capture.

Usable = the template decodes, its format/version is known, its size is right, its payload is
sane, and its quality is at least ``QUALITY_MIN``. Requirements (the station re-captures at
once when they fail, code ``biometrics.recapture_required``):

* fingerprints: at least 6 usable, or all capturable ones when exceptions leave fewer than 6
  (``min(6, 10 - excepted)``);
* irises: at least 1 usable unless both eyes are excepted;
* in total at least 2 usable fingerprints + irises, unless exceptions leave fewer than 2 to
  capture; then the recording is accepted with the warning ``biometrics.few_capturable``
  (a resident with a disability is recorded, never refused) and dedup relies on the face;
* the face template is usable.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.enrollment.schemas import Biometrics, Eye, FingerPosition

from .messages import problem
from .problems import Problem
from .templates import IRIS_MASK_MIN_FRACTION, QUALITY_MIN, Kind, decode_base64, known_labels, lookup, usable_fraction

MIN_USABLE_FINGERS = 6
MIN_USABLE_IRISES = 1
MIN_USABLE_TOTAL = 2
ALL_FINGERS = tuple(FingerPosition)
ALL_EYES = tuple(Eye)


def _payload(kind: Kind, fmt: str, version: int, fields: Sequence[tuple[str, str]]) -> tuple[bool, list[Problem]]:
    """Decode and size-check the payload fields (path, base64) of one template."""
    spec = lookup(kind, fmt, version)
    if spec is None:
        path = fields[0][0].rpartition(".")[0]
        return False, [problem(f"{path}.format", "template.unknown_format", format=fmt, version=version,
                               known=known_labels(kind))]
    ok, out = True, []
    for path, text in fields:
        data = decode_base64(text)
        if data is None:
            ok = False
            out.append(problem(path, "base64.invalid"))
        elif len(data) != spec.size:
            ok = False
            out.append(problem(path, "template.size", size=len(data), expected=spec.size, format=fmt, version=version))
        elif spec.check is not None and path.endswith(".template") and (code := spec.check(data)):
            ok = False
            out.append(problem(path, code))
        elif path.endswith(".mask") and (share := usable_fraction(data)) < IRIS_MASK_MIN_FRACTION:
            ok = False
            out.append(problem(path, "iris.mask_insufficient", percent=round(share * 100),
                               min=round(IRIS_MASK_MIN_FRACTION * 100)))
    return ok, out


def _quality(path: str, quality: int) -> tuple[bool, list[Problem]]:
    if quality < QUALITY_MIN:
        return False, [problem(f"{path}.quality", "template.low_quality", quality=quality, min=QUALITY_MIN)]
    return True, []


def check_templates(bio: Biometrics, base: str = "biometrics") -> list[Problem]:
    """Exceptions, fingerprints, irises and face, and whether enough of them are usable (the photo
    and the signature: `images.py`)."""
    out: list[Problem] = []

    # Exceptions: one per position.
    excepted: set[str] = set()
    for i, exc in enumerate(bio.exceptions):
        pos = str(exc.position)
        if pos in excepted:
            out.append(problem(f"{base}.exceptions[{i}].position", "exceptions.duplicate", positions=[pos]))
        excepted.add(pos)

    # Fingerprints.
    seen: set[str] = set()
    usable_fingers: set[str] = set()
    unusable_fingers: list[str] = []
    for i, fp in enumerate(bio.fingerprints):
        path, pos = f"{base}.fingerprints[{i}]", str(fp.position)
        if pos in seen:
            out.append(problem(f"{path}.position", "fingerprints.duplicate_position", positions=[pos]))
            continue
        seen.add(pos)
        if pos in excepted:
            out.append(problem(f"{path}.position", "biometrics.template_and_exception", positions=[pos]))
        ok, found = _payload("fingerprint", fp.format, fp.version, [(f"{path}.template", fp.template)])
        good, low = _quality(path, fp.quality)
        out += found + low
        (usable_fingers.add(pos) if ok and good else unusable_fingers.append(pos))
    missing_fingers = [p for p in ALL_FINGERS if p not in seen and p not in excepted]
    if missing_fingers:
        out.append(problem(f"{base}.fingerprints", "fingerprints.missing", positions=missing_fingers))

    # Irises.
    seen_eyes: set[str] = set()
    usable_eyes: set[str] = set()
    unusable_eyes: list[str] = []
    for i, iris in enumerate(bio.irises):
        path, eye = f"{base}.irises[{i}]", str(iris.eye)
        if eye in seen_eyes:
            out.append(problem(f"{path}.eye", "irises.duplicate_eye", positions=[eye]))
            continue
        seen_eyes.add(eye)
        if eye in excepted:
            out.append(problem(f"{path}.eye", "biometrics.template_and_exception", positions=[eye]))
        payload = [(f"{path}.code", iris.code), (f"{path}.mask", iris.mask)]
        ok, found = _payload("iris", iris.format, iris.version, payload)
        good, low = _quality(path, iris.quality)
        out += found + low
        (usable_eyes.add(eye) if ok and good else unusable_eyes.append(eye))
    missing_eyes = [e for e in ALL_EYES if e not in seen_eyes and e not in excepted]
    if missing_eyes:
        out.append(problem(f"{base}.irises", "irises.missing", positions=missing_eyes))

    # Face.
    face_ok, found = _payload("face", bio.face.format, bio.face.version, [(f"{base}.face.template", bio.face.template)])
    face_good, low = _quality(f"{base}.face", bio.face.quality)
    out += found + low

    out += _recapture(base, usable_fingers, unusable_fingers, missing_fingers, usable_eyes, unusable_eyes,
                      missing_eyes, excepted, face_ok and face_good)
    return out


def _recapture(
    base: str,
    usable_fingers: set[str],
    unusable_fingers: list[str],
    missing_fingers: list[str],
    usable_eyes: set[str],
    unusable_eyes: list[str],
    missing_eyes: list[str],
    excepted: set[str],
    face_usable: bool,
) -> list[Problem]:
    out = []
    capturable_fingers = sum(1 for p in ALL_FINGERS if p not in excepted)
    capturable_eyes = sum(1 for e in ALL_EYES if e not in excepted)
    need_fingers = min(MIN_USABLE_FINGERS, capturable_fingers)
    need_eyes = min(MIN_USABLE_IRISES, capturable_eyes)
    need_total = min(MIN_USABLE_TOTAL, capturable_fingers + capturable_eyes)
    short_total = len(usable_fingers) + len(usable_eyes) < need_total

    if len(usable_fingers) < need_fingers or short_total:
        redo = [*unusable_fingers, *missing_fingers]
        if redo:
            out.append(problem(
                f"{base}.fingerprints", "biometrics.recapture_required", positions=redo,
                usable=len(usable_fingers), required=need_fingers,
                reason_id=f"Sidik jari yang dapat dipakai {len(usable_fingers)}, dibutuhkan minimal {need_fingers}.",
                reason_en=f"{len(usable_fingers)} usable fingerprints, at least {need_fingers} needed.",
            ))
    if len(usable_eyes) < need_eyes or (short_total and unusable_eyes + missing_eyes):
        redo = [*unusable_eyes, *missing_eyes]
        if redo:
            out.append(problem(
                f"{base}.irises", "biometrics.recapture_required", positions=redo,
                usable=len(usable_eyes), required=need_eyes,
                reason_id=f"Iris yang dapat dipakai {len(usable_eyes)}, dibutuhkan minimal {need_eyes}.",
                reason_en=f"{len(usable_eyes)} usable irises, at least {need_eyes} needed.",
            ))
    if not face_usable:
        out.append(problem(
            f"{base}.face", "biometrics.recapture_required", positions=["FACE"], usable=0, required=1,
            reason_id="Templat wajah tidak dapat dipakai.", reason_en="The face template is not usable.",
        ))
    if capturable_fingers + capturable_eyes < MIN_USABLE_TOTAL:
        count = capturable_fingers + capturable_eyes
        out.append(problem(f"{base}.exceptions", "biometrics.few_capturable", count=count))
    return out
