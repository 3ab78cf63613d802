"""Test data for the enrollment validation: a valid recording, changed one field at a time."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import random
import struct
from typing import Any

from PIL import Image

from ektp.synth.residents import make_photo_jpeg, make_signature_png
from services.enrollment.schemas import RecordingIn

TODAY = dt.date(2026, 11, 28)
WITA = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=WITA)
FINGERS = ("RIGHT_THUMB", "RIGHT_INDEX", "RIGHT_MIDDLE", "RIGHT_RING", "RIGHT_LITTLE",
           "LEFT_THUMB", "LEFT_INDEX", "LEFT_MIDDLE", "LEFT_RING", "LEFT_LITTLE")  # fmt: skip


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def embedding(rng: random.Random, n: int = 128) -> bytes:
    return struct.pack(f"<{n}f", *(rng.gauss(0, 1) for _ in range(n)))


def iris_bytes(rng: random.Random, usable: float = 0.9) -> tuple[bytes, bytes]:
    code = bytes(rng.getrandbits(8) for _ in range(256))
    bits = [1 if i < round(2048 * usable) else 0 for i in range(2048)]
    rng.shuffle(bits)
    mask = bytes(sum(bits[i * 8 + j] << j for j in range(8)) for i in range(256))
    return code, mask


def jpeg(width: int, height: int, quality: int = 80, noise: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (180, 40, 40))
    if noise:
        img = Image.effect_noise((width, height), 120).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def fingerprint(rng: random.Random, position: str, quality: int = 80) -> dict[str, Any]:
    return {"position": position, "format": "ektp-fp-emb", "version": 1, "quality": quality,
            "template": b64(embedding(rng))}


def iris(rng: random.Random, eye: str, quality: int = 80, usable: float = 0.9) -> dict[str, Any]:
    code, mask = iris_bytes(rng, usable)
    return {"eye": eye, "format": "ektp-iris-code", "version": 1, "quality": quality,
            "code": b64(code), "mask": b64(mask)}


def valid_biometrics(rng: random.Random, quality: int = 80) -> dict[str, Any]:
    """Ten fingerprints, two irises, a face, a real JPEG photo and a PNG signature, all usable."""
    return {
        "fingerprints": [fingerprint(rng, p, quality) for p in FINGERS],
        "irises": [iris(rng, "RIGHT", quality), iris(rng, "LEFT", quality)],
        "face": {"format": "ektp-face-emb", "version": 1, "quality": quality, "template": b64(embedding(rng))},
        "photo_jpeg": b64(make_photo_jpeg(rng)),
        "signature_png": b64(make_signature_png(rng)),
        "exceptions": [],
    }


def recording_context(site: str = "53.71.04") -> dict[str, Any]:
    return {"site": site, "station": "ST01", "operator": "op-012",
            "recorded_at": (NOW - dt.timedelta(hours=1)).isoformat()}


BASE_RESIDENT: dict[str, Any] = {
    "nik": "5371044506900001",  # Oebobo, woman born 05-06-1990, serial 0001
    "kk_number": "5371041203150007",
    "name": "MARIA NOGO-LAMA",
    "birth_place": "KUPANG",
    "birth_date": "1990-06-05",
    "sex": "PEREMPUAN",
    "blood_type": "O+",
    "address": {"street": "JL. EL TARI NO. 5", "rt": "003", "rw": "002", "village_code": "53.71.04.1001"},
    "religion": "KATHOLIK",
    "marital_status": "KAWIN",
    "occupation": "PEGAWAI NEGERI SIPIL",
    "citizenship": "WNI",
    "pickup_site": "53.71.04",
}

_BIOMETRICS_CACHE: dict[str, Any] = {}


def recording_dict(resident: dict[str, Any] | None = None, biometrics: dict[str, Any] | None = None) -> dict[str, Any]:
    if biometrics is None:
        if "default" not in _BIOMETRICS_CACHE:
            _BIOMETRICS_CACHE["default"] = valid_biometrics(random.Random(7))
        biometrics = _BIOMETRICS_CACHE["default"]
    data = copy.deepcopy(resident or BASE_RESIDENT)
    data["biometrics"] = copy.deepcopy(biometrics)
    data["recording"] = recording_context()
    return data


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``a.b[2].c`` in a nested dict/list (in place) and return ``data``."""
    node: Any = data
    keys: list[Any] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        keys.append(name)
        if rest:
            keys.append(int(rest.rstrip("]")))
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return data


def recording(changes: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> RecordingIn:
    """A valid recording (or ``data``) with ``changes`` applied: ``{"address.rt": "3",
    "biometrics.irises[0].quality": 10}`` (paths as ``set_path`` takes them)."""
    data = data or recording_dict()
    for path, value in (changes or {}).items():
        set_path(data, path, value)
    return RecordingIn.model_validate(data)
