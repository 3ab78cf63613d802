from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest

from shared.certificate.token import (
    WITA,
    Reason,
    TokenError,
    mask_nik,
    sign_token,
    verify_token,
)
from shared.keys import KeySet, SigningKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _reason(token: str, keys, now) -> Reason:
    with pytest.raises(TokenError) as caught:
        verify_token(token, keys, now=now)
    return caught.value.reason


def test_round_trip_keeps_every_claim(build, signing_key):
    claims = build.claims()
    verified = verify_token(sign_token(claims, signing_key), KeySet.of(signing_key.public_key), now=build.now)
    assert verified.kid == signing_key.kid
    assert verified.claims.number == "470/0001/Dukcapil/2026"
    assert verified.claims.masked_nik == "5371********0001"
    assert verified.claims.name == claims.name
    assert verified.claims.birth_date == dt.date(1990, 6, 5)
    assert verified.claims.issuer == "53.71"
    assert verified.claims.issued_at == claims.issued_at
    assert verified.claims.expires_at == claims.expires_at


def test_token_is_a_standard_jws_any_library_verifies(build, signing_key):
    token = sign_token(build.claims(), signing_key)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": signing_key.kid}
    decoded = jwt.decode(token, signing_key.public_key, algorithms=["EdDSA"], options={"verify_exp": False})
    assert decoded["k"] == "5371********0001"
    assert set(decoded) == {"n", "k", "nm", "bd", "iss", "iat", "exp"}
    assert len(token) < 420  # fits a version <= 16 QR code at error correction M


def test_valid_until_covers_the_whole_last_day_in_kupang(build):
    claims = build.claims()
    assert claims.expires_at == dt.datetime(2027, 5, 29, 0, 0, tzinfo=WITA)


def test_tampered_claim_is_a_bad_signature(build, signing_key):
    header, payload, signature = sign_token(build.claims(), signing_key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["nm"] = "SOMEONE ELSE"
    forged = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    assert _reason(forged, KeySet.of(signing_key.public_key), build.now) == Reason.BAD_SIGNATURE


def test_extended_expiry_is_a_bad_signature(build, signing_key):
    header, payload, signature = sign_token(build.claims(), signing_key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 365 * 86400
    forged = ".".join([header, _b64(json.dumps(claims, separators=(",", ":")).encode()), signature])
    assert _reason(forged, KeySet.of(signing_key.public_key), build.now) == Reason.BAD_SIGNATURE


def test_key_not_in_the_set_is_unknown_key(build, signing_key):
    other = SigningKey.generate()
    token = sign_token(build.claims(), signing_key)
    error_reason = _reason(token, KeySet.of(other.public_key), build.now)
    assert error_reason == Reason.UNKNOWN_KEY == "unknown_key"


def test_a_header_pointing_at_a_trusted_kid_with_another_key_is_a_bad_signature(build, signing_key):
    attacker = SigningKey.generate()
    header = _b64(json.dumps({"alg": "EdDSA", "kid": signing_key.kid}).encode())
    payload = _b64(json.dumps(build.claims().to_json()).encode())
    signature = _b64(attacker.sign(f"{header}.{payload}".encode()))
    forged = f"{header}.{payload}.{signature}"
    assert _reason(forged, KeySet.of(signing_key.public_key), build.now) == Reason.BAD_SIGNATURE


def test_expired_at_exp_and_valid_just_before(build, signing_key):
    claims = build.claims()
    token = sign_token(claims, signing_key)
    keys = KeySet.of(signing_key.public_key)
    verify_token(token, keys, now=claims.expires_at - dt.timedelta(seconds=1))
    assert _reason(token, keys, claims.expires_at) == Reason.EXPIRED
    with pytest.raises(TokenError, match="expired"):
        verify_token(token, keys, now=claims.expires_at + dt.timedelta(days=1))


def test_issued_in_the_future_is_not_yet_valid_beyond_the_leeway(build, signing_key):
    claims = build.claims()
    token = sign_token(claims, signing_key)
    keys = KeySet.of(signing_key.public_key)
    verify_token(token, keys, now=claims.issued_at - dt.timedelta(minutes=4))  # clock skew
    assert _reason(token, keys, claims.issued_at - dt.timedelta(hours=1)) == Reason.NOT_YET_VALID


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        "eyJhbGciOiJub25lIn0.e30.",  # alg none, empty signature
        _b64(b'{"alg":"HS256","kid":"x"}') + ".e30.AAAA",
        _b64(b'{"alg":"EdDSA","kid":"x","crit":["exp"]}') + ".e30.AAAA",
        _b64(b"not json") + ".e30.AAAA",
        "x" * 5000,
    ],
)
def test_malformed_tokens(build, signing_key, token):
    assert _reason(token, KeySet.of(signing_key.public_key), build.now) == Reason.MALFORMED


def test_non_canonical_base64_signature_is_malformed(build, signing_key):
    token = sign_token(build.claims(), signing_key)
    head, _, signature = token.rpartition(".")
    last = signature[-1]
    # 64 bytes -> 86 chars: the last char carries 2 unused bits; setting one keeps the bytes
    sibling = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = sibling[sibling.index(last) ^ 1]
    assert _reason(f"{head}.{signature[:-1]}{twin}", KeySet.of(signing_key.public_key), build.now) == Reason.MALFORMED


def test_signed_token_missing_a_claim_is_malformed(build, signing_key):
    header = _b64(json.dumps({"alg": "EdDSA", "kid": signing_key.kid}).encode())
    claims = build.claims().to_json()
    del claims["nm"]
    payload = _b64(json.dumps(claims).encode())
    token = f"{header}.{payload}.{_b64(signing_key.sign(f'{header}.{payload}'.encode()))}"
    assert _reason(token, KeySet.of(signing_key.public_key), build.now) == Reason.MALFORMED


def test_plain_dict_of_keys_is_accepted(build, signing_key):
    token = sign_token(build.claims(), signing_key)
    assert verify_token(token, {signing_key.kid: signing_key.public_key}, now=build.now).kid == signing_key.kid


def test_error_carries_code_and_message():
    error = TokenError("expired", "expired at 2027-05-29")
    assert error.reason_code == "expired"
    assert error.message == "expired at 2027-05-29"
    assert str(error) == "expired: expired at 2027-05-29"


def test_mask_nik():
    assert mask_nik("5371044506900001") == "5371********0001"
    with pytest.raises(ValueError):
        mask_nik("53710445069000")
