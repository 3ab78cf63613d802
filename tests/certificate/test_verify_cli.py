"""`ektp verify` as a verifier at a counter reads it (a bank clerk, a police officer; offline,
with the dinas's published keys): a verdict in Indonesian and English, the dates as the paper
prints them, whose certificate an expired one is, and what offline checking cannot tell."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from services.certificate.document import render_pdf
from shared.certificate.token import WITA, sign_token
from shared.dates import indonesian_date
from shared.keys import SigningKey, jwks, load_public_keys
from tests.support.processes import ektp


def _verify(source: str | Path, keys: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ektp("verify", str(source), "--keys", str(keys)), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def keys_json(key_dir: Path, tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(jwks(load_public_keys(key_dir))))
    return path


def test_a_genuine_certificate_is_told_in_both_languages_with_the_printed_date(build, signing_key, keys_json,
                                                                              tmp_path):
    today = dt.datetime.now(WITA).date()
    until = today + dt.timedelta(days=180)
    token = sign_token(build.claims(issued_at=dt.datetime.now(dt.UTC), valid_until=until), signing_key)
    document = dataclasses.replace(build.document(signing_key), valid_until=until, token=token)
    pdf = tmp_path / "suket.pdf"
    pdf.write_bytes(render_pdf(document))
    result = _verify(pdf, keys_json)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("VALID") and "ASLI" in out and "GENUINE" in out and f"key {signing_key.kid}" in out
    assert "MARIA GORETTI FANGGIDAE" in out and "5371********0001" in out and "05-06-1990" in out
    assert indonesian_date(until) in out  # "30 Mei 2027", as "Berlaku sampai dengan" on the paper
    assert "UTC" not in out  # not the end-of-day instant in another time zone
    assert "Dinas Dukcapil Kota Kupang (53.71)" in out
    # honest about revocation: it cannot be known offline, and where to check
    assert "tidak dapat diperiksa apakah Dinas sudah mencabutnya" in out
    assert "cannot be checked whether the dinas has revoked it" in out and "/console/verify" in out


def test_an_expired_certificate_says_whose_it_is_and_when_it_ended(build, signing_key, keys_json):
    ended = dt.datetime.now(WITA).date() - dt.timedelta(days=10)
    token = sign_token(build.claims(issued_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=190), valid_until=ended),
                       signing_key)
    result = _verify(token, keys_json)
    assert result.returncode == 1
    out = result.stdout
    assert out.startswith("EXPIRED (expired)") and "KEDALUWARSA" in out
    assert "MARIA GORETTI FANGGIDAE" in out and indonesian_date(ended) in out and "470/0001/Dukcapil/2026" in out


def test_a_changed_or_foreign_certificate_is_not_valid_in_words(build, signing_key, keys_json):
    token = sign_token(build.claims(issued_at=dt.datetime.now(dt.UTC)), signing_key)
    header, claims, signature = token.split(".")
    forged = f"{header}.{claims[:-4]}{'AAAA' if claims[-4:] != 'AAAA' else 'BBBB'}.{signature}"
    result = _verify(forged, keys_json)
    assert result.returncode == 1 and result.stdout.startswith("INVALID (")
    assert "TIDAK SAH" in result.stdout and "NOT VALID" in result.stdout
    other = sign_token(build.claims(issued_at=dt.datetime.now(dt.UTC)), SigningKey.generate())
    result = _verify(other, keys_json)
    assert result.returncode == 1 and result.stdout.startswith("INVALID (unknown_key)")
    assert "TIDAK DIKENAL" in result.stdout and "out of date" in result.stdout
    assert "MARIA" not in result.stdout  # nothing of an unverified token is shown as if true


def test_a_wrong_keys_file_is_one_line_naming_the_option(build, signing_key, tmp_path):
    token = sign_token(build.claims(issued_at=dt.datetime.now(dt.UTC)), signing_key)
    for name, content in (("missing.json", None), ("not-json.json", "%PDF-1.4"), ("no-keys.json", '{"keys": []}')):
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        result = _verify(token, path)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.startswith(f"--keys {path}: "), result.stderr
        assert "GET /v1/certificates/keys" in result.stderr
