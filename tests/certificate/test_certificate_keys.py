from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import stat
import time

import pytest
from cryptography.hazmat.primitives import serialization

from shared.certificate.token import Reason, TokenError, sign_token, verify_token
from shared.keys import (
    KeyFileError,
    KeySet,
    SigningKey,
    activate_key,
    fingerprint,
    generate_key,
    jwks,
    key_id,
    keys_from_jwks,
    load_public_keys,
    load_signing_key,
    raw_public_bytes,
)


def test_generate_writes_pkcs8_private_0600_and_public(tmp_path):
    kid = generate_key(tmp_path)
    private, public = tmp_path / f"{kid}.key", tmp_path / f"{kid}.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    key = serialization.load_pem_public_key(public.read_bytes())
    assert kid == hashlib.sha256(raw_public_bytes(key)).hexdigest()[:16] == key_id(key)
    assert load_signing_key(tmp_path).kid == kid


def test_private_key_file_is_0600_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        kid = generate_key(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / f"{kid}.key").stat().st_mode) == 0o600


def test_signing_key_never_shows_its_private_part(signing_key):
    private_pem = signing_key._private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = signing_key._private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    for shown in (repr(signing_key), str(signing_key), f"{signing_key}"):
        assert shown == f"SigningKey(kid={signing_key.kid!r})"
        assert raw.hex() not in shown and private_pem.decode() not in shown
    with pytest.raises(TypeError):
        pickle.dumps(signing_key)


def test_active_file_chooses_the_signing_key(tmp_path):
    first = generate_key(tmp_path)
    second = generate_key(tmp_path, activate=False)  # published before it signs
    assert load_signing_key(tmp_path).kid == first
    activate_key(tmp_path, second)
    assert load_signing_key(tmp_path).kid == second


def test_without_active_file_the_newest_key_signs(tmp_path):
    old = generate_key(tmp_path, activate=False)
    new = generate_key(tmp_path, activate=False)
    past = time.time() - 3600
    os.utime(tmp_path / f"{old}.key", (past, past))
    assert load_signing_key(tmp_path).kid == new


def test_missing_keys_are_reported(tmp_path):
    with pytest.raises(KeyFileError, match="no private key"):
        load_signing_key(tmp_path)
    (tmp_path / "active").write_text("0123456789abcdef\n")
    with pytest.raises(KeyFileError, match="missing"):
        load_signing_key(tmp_path)
    with pytest.raises(KeyFileError):
        activate_key(tmp_path, "fedcba9876543210")


def test_a_renamed_key_file_is_refused(tmp_path):
    kid = generate_key(tmp_path)
    (tmp_path / f"{kid}.pub").rename(tmp_path / "0000000000000000.pub")
    with pytest.raises(KeyFileError, match="holds key"):
        load_public_keys(tmp_path)


def test_a_world_readable_private_key_is_warned_about(tmp_path, caplog):
    kid = generate_key(tmp_path)
    (tmp_path / f"{kid}.key").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        load_signing_key(tmp_path)
    assert "readable by others" in caplog.text
    assert "PRIVATE KEY" not in caplog.text


def test_a_private_key_readable_by_its_group_only_is_how_a_kubernetes_secret_is_mounted(tmp_path, caplog):
    kid = generate_key(tmp_path)
    (tmp_path / f"{kid}.key").chmod(0o440)  # deploy/k8s/base/patches/signing-keys.yaml: defaultMode + fsGroup
    with caplog.at_level(logging.WARNING):
        load_signing_key(tmp_path)
    assert "readable by others" not in caplog.text


def test_rotation_old_tokens_keep_verifying_new_tokens_carry_new_kid(build, tmp_path):
    old_kid = generate_key(tmp_path)
    old_token = sign_token(build.claims(), load_signing_key(tmp_path))
    new_kid = generate_key(tmp_path)  # rotate
    assert new_kid != old_kid
    new_token = sign_token(build.claims(number="470/0002/Dukcapil/2026"), load_signing_key(tmp_path))

    both = load_public_keys(tmp_path)
    assert set(both) == {old_kid, new_kid}
    assert verify_token(old_token, both, now=build.now).kid == old_kid
    assert verify_token(new_token, both, now=build.now).kid == new_kid

    only_old = KeySet({old_kid: both[old_kid]})  # a verifier that has not refreshed its keys
    with pytest.raises(TokenError) as caught:
        verify_token(new_token, only_old, now=build.now)
    assert caught.value.reason == Reason.UNKNOWN_KEY


def test_jwks_round_trip(build, tmp_path):
    generate_key(tmp_path)
    generate_key(tmp_path)
    keys = load_public_keys(tmp_path)
    document = jwks(keys)
    text = json.dumps(document)
    for entry in document["keys"]:
        assert entry["kty"] == "OKP" and entry["crv"] == "Ed25519" and entry["alg"] == "EdDSA"
        assert len(entry["x"]) == 43 and "=" not in entry["x"]
    parsed = keys_from_jwks(text)
    assert set(parsed) == set(keys)
    assert all(raw_public_bytes(parsed[k]) == raw_public_bytes(keys[k]) for k in keys)
    assert keys_from_jwks(document).keys() == parsed.keys()

    token = sign_token(build.claims(), load_signing_key(tmp_path))
    assert verify_token(token, parsed, now=build.now).kid == load_signing_key(tmp_path).kid


def test_jwks_refuses_a_kid_that_does_not_match_its_key_and_skips_foreign_keys(signing_key):
    document = jwks(KeySet.of(signing_key.public_key))
    foreign = {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"}
    assert list(keys_from_jwks({"keys": [*document["keys"], foreign]})) == [signing_key.kid]
    document["keys"][0]["kid"] = "0000000000000000"
    with pytest.raises(KeyFileError, match="does not match"):
        keys_from_jwks(document)
    with pytest.raises(KeyFileError):
        keys_from_jwks("not json")
    with pytest.raises(KeyFileError):
        keys_from_jwks({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "short"}]})


def test_fingerprint_is_grouped_sha256_and_starts_with_the_kid(signing_key):
    printed = fingerprint(signing_key.public_key)
    groups = printed.split(" ")
    assert len(groups) == 16 and all(len(g) == 4 for g in groups)
    assert printed.replace(" ", "").lower().startswith(signing_key.kid)


def test_generate_refuses_to_overwrite(tmp_path, monkeypatch):
    fixed = SigningKey.generate()
    monkeypatch.setattr(SigningKey, "generate", classmethod(lambda cls: fixed))
    generate_key(tmp_path)
    with pytest.raises(FileExistsError):
        generate_key(tmp_path)
