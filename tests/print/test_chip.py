"""The chip record: canonical, signed, and refused when altered."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.print.card import CardData, ChipRecordError, build_chip_record, verify_chip_record

RIGHT = base64.b64encode(bytes(range(64))).decode()
LEFT = base64.b64encode(bytes(range(64, 128))).decode()


def _record(card_data: CardData, key: Ed25519PrivateKey, **kw: Any) -> bytes:
    return build_chip_record(card_data, kw.get("right", RIGHT), kw.get("left", LEFT), key, "dinas-5371-2024")


def test_round_trip(card_data: CardData, issuer_key: Ed25519PrivateKey) -> None:
    blob = _record(card_data, issuer_key)

    payload = verify_chip_record(blob, {"dinas-5371-2024": issuer_key.public_key()})

    assert payload["serial"] == card_data.serial
    assert payload["card"]["nik"] == card_data.nik
    assert payload["card"]["name"] == "MARIA GORETI NDOLU"
    assert payload["card"]["birth_date"] == "1990-06-05"
    assert payload["card"]["valid_until"] == "SEUMUR HIDUP"
    assert payload["fingerprints"] == {"right_index": RIGHT, "left_index": LEFT}
    assert len(payload["photo_sha256"]) == 64


def test_missing_finger_is_null(card_data: CardData, issuer_key: Ed25519PrivateKey) -> None:
    blob = _record(card_data, issuer_key, left=None)
    payload = verify_chip_record(blob, {"dinas-5371-2024": issuer_key.public_key()})
    assert payload["fingerprints"]["left_index"] is None


def test_record_is_canonical_and_deterministic(card_data: CardData, issuer_key: Ed25519PrivateKey) -> None:
    blob = _record(card_data, issuer_key)
    assert blob == _record(card_data, issuer_key)  # Ed25519 signatures are deterministic
    assert blob == json.dumps(json.loads(blob), sort_keys=True, separators=(",", ":")).encode()


def test_not_base64_template_is_refused(card_data: CardData, issuer_key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError, match="right_index"):
        _record(card_data, issuer_key, right="not base64!")


def _tampered(blob: bytes, change: Any) -> bytes:
    record = json.loads(blob)
    change(record)
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["payload"]["card"].__setitem__("name", "MARIA GORETI NDOLU X"),
        lambda r: r["payload"].__setitem__("serial", "5371-2024-0009999"),
        lambda r: r["payload"]["fingerprints"].__setitem__("right_index", LEFT),
        lambda r: r.__setitem__("sig", r["sig"][:-4] + "AAAA"),
        lambda r: r.__setitem__("sig", "%%%"),
    ],
    ids=["name", "serial", "finger", "signature", "garbage-signature"],
)
def test_tampering_is_detected(card_data: CardData, issuer_key: Ed25519PrivateKey, change: Any) -> None:
    blob = _tampered(_record(card_data, issuer_key), change)
    with pytest.raises(ChipRecordError):
        verify_chip_record(blob, {"dinas-5371-2024": issuer_key.public_key()})


def test_non_canonical_encoding_is_refused(card_data: CardData, issuer_key: Ed25519PrivateKey) -> None:
    blob = _record(card_data, issuer_key)
    spaced = json.dumps(json.loads(blob), sort_keys=True, ensure_ascii=False).encode()
    with pytest.raises(ChipRecordError, match="canonical"):
        verify_chip_record(spaced, {"dinas-5371-2024": issuer_key.public_key()})


def test_other_or_unknown_key_is_refused(card_data: CardData, issuer_key: Ed25519PrivateKey) -> None:
    blob = _record(card_data, issuer_key)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ChipRecordError, match="signature"):
        verify_chip_record(blob, {"dinas-5371-2024": other})
    with pytest.raises(ChipRecordError, match="unknown issuer key"):
        verify_chip_record(blob, {"another-key": issuer_key.public_key()})


@pytest.mark.parametrize("blob", [b"", b"\xff\xfe", b"[]", b'{"v":1}', b"null"])
def test_garbage_is_refused(blob: bytes, issuer_key: Ed25519PrivateKey) -> None:
    with pytest.raises(ChipRecordError):
        verify_chip_record(blob, {"k": issuer_key.public_key()})
