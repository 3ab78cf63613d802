"""The certificate service as its users drive it, on the four services as separate processes
(PostgreSQL + RabbitMQ): issue → PDF → PNG → QR → `ektp verify` offline; online status; each way a
certificate stops being valid; expiry and renewal; key rotation; the policies that issue by themselves.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ektp.synth.biometrics import new_person
from tests.support.api import auth, eventually, recording, wait_status
from tests.support.processes import ektp

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "certificate"
# What the public verify route may show; never the full NIK, the address, the enrollment or who acted.
PUBLIC_FIELDS = {"status", "reason", "detail", "number", "name", "nik_masked", "birth_date", "valid_until",
                 "issuer", "issuer_name_id", "issuer_name_en", "revoked_at"}


def restart_certificate(cluster, **settings: object) -> None:
    """Restart the certificate service with extra EKTP_ settings (the others keep running)."""
    cluster.procs["certificate"].stop()
    cluster.env.update({f"EKTP_{k.upper()}": str(v) for k, v in settings.items()})
    cluster.start_service("certificate")


async def post(enrollment: httpx.AsyncClient, rec: dict) -> dict:
    answer = await enrollment.post("/v1/enrollments", json=rec, headers={"Idempotency-Key": rec["station_recording_id"]})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def issue(certificate: httpx.AsyncClient, enrollment_id: str) -> dict:
    """Issue once the certificate service knows the recording (its event may still be on the way)."""

    async def attempt() -> dict | None:
        response = await certificate.post("/v1/certificates", json={"enrollment_id": enrollment_id})
        if response.status_code == 404:
            return None
        assert response.status_code == 201, response.text
        return response.json()

    return await eventually(attempt, timeout=60, what=f"certificate for {enrollment_id}")


async def certificates_of(certificate: httpx.AsyncClient, enrollment_id: str) -> list[dict]:
    response = await certificate.get("/v1/certificates", params={"enrollment_id": enrollment_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def verify_online(certificate: httpx.AsyncClient, token: str) -> dict:
    response = await certificate.get(f"/v1/verify/{token}", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) <= PUBLIC_FIELDS, body
    return body


async def ektp_verify(source: str | Path, keys: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
    return await asyncio.to_thread(subprocess.run, ektp("verify", str(source), "--keys", str(keys)),
                                   capture_output=True, text=True, env=env, timeout=120)


async def save_keys(certificate: httpx.AsyncClient, path: Path) -> dict:
    response = await certificate.get("/v1/certificates/keys", headers={"Authorization": ""})
    assert response.status_code == 200
    path.write_text(response.text)
    return response.json()


def tampered(token: str, **claims: object) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(claims)
    encoded = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


async def audit_actions(pg_url: str, subject_id: str | None = None) -> list[str]:
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as conn:
            sql = "SELECT action FROM auth.audit_log" + (" WHERE subject_id = :s" if subject_id else "") + " ORDER BY id"
            return [r[0] for r in await conn.execute(text(sql), {"s": subject_id} if subject_id else {})]
    finally:
        await engine.dispose()


async def test_issue_render_scan_verify_offline_online_tamper_revoke_list(cluster, token, tmp_path, pg_url):
    h = auth(token)
    async with httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=30) as enrollment, \
            httpx.AsyncClient(base_url=cluster.url("certificate"), headers=h, timeout=60) as certificate:
        try:
            rec = recording(601)
            accepted = await post(enrollment, rec)
            cert = await issue(certificate, accepted["id"])
            assert cert["status"] == "VALID" and cert["issued_by"].startswith("bootstrap admin")

            # The A4 PDF, rendered to PNG as a person would print or photograph it; kept as an artifact.
            response = await certificate.get(cert["pdf_url"])
            assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "cluster-suket.pdf").write_bytes(response.content)
            page = pdfium.PdfDocument(response.content)[0]
            assert round(page.get_width() / 72 * 25.4) == 210 and round(page.get_height() / 72 * 25.4) == 297  # A4
            png = ARTIFACTS / "cluster-suket.png"
            page.render(scale=200 / 72).to_pil().save(png)

            # The QR code in the picture holds the certificate's token.
            from PIL import Image
            codes = [b.text for b in zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)]
            assert cert["token"] in codes

            # Offline: the command line, with the published keys and no network.
            keys = tmp_path / "keys.json"
            assert [k["kid"] for k in (await save_keys(certificate, keys))["keys"]] == [cert["kid"]]
            offline = await ektp_verify(png, keys)
            assert offline.returncode == 0, offline.stdout + offline.stderr
            assert offline.stdout.startswith("VALID") and cert["number"] in offline.stdout
            assert rec["nik"] not in offline.stdout  # masked in the token

            # Online: valid, and only what a verifier needs.
            online = await verify_online(certificate, cert["token"])
            assert online["status"] == "valid" and online["number"] == cert["number"]
            assert online["nik_masked"] == rec["nik"][:4] + "*" * 8 + rec["nik"][12:]
            assert rec["nik"] not in json.dumps(online) and rec["address"]["street"] not in json.dumps(online)

            # A changed name: refused offline and online, with the reason.
            forged = tampered(cert["token"], nm="ORANG LAIN")
            bad = await ektp_verify(forged, keys)
            assert bad.returncode == 1 and "INVALID (bad_signature)" in bad.stdout
            assert (await verify_online(certificate, forged))["reason"] == "bad_signature"
            assert (await verify_online(certificate, forged))["status"] == "invalid"
            assert (await verify_online(certificate, "not-a-token"))["reason"] == "malformed"

            # Manual revocation with a reason: the verifier sees "revoked by the dinas", not the note.
            note = "dilaporkan dipakai orang lain di Bank NTT cabang Oebobo"
            response = await certificate.post(f"/v1/certificates/{cert['number']}/revoke", json={"reason": note})
            assert response.status_code == 200 and response.json()["status"] == "REVOKED"
            online = await verify_online(certificate, cert["token"])
            assert online["status"] == "revoked" and online["reason"] == "operator" and note not in json.dumps(online)
            shown = (await certificate.get(f"/v1/certificates/{cert['number']}")).json()
            assert shown["revoke_reason"] == note and shown["revoke_code"] == "operator"
            again = await certificate.post(f"/v1/certificates/{cert['number']}/revoke", json={"reason": note})
            assert again.status_code == 409 and again.json()["error"] == "not_valid"

            # A new paper for the same resident; the list and the counts for the console.
            second = await issue(certificate, accepted["id"])
            assert second["number"] != cert["number"]
            listed = await certificates_of(certificate, accepted["id"])
            assert [(c["number"], c["status"]) for c in listed] == [(second["number"], "VALID"), (cert["number"], "REVOKED")]
            by_nik = (await certificate.get("/v1/certificates", params={"nik": rec["nik"], "status": "REVOKED"})).json()
            assert by_nik["total"] == 1 and by_nik["items"][0]["number"] == cert["number"]
            stats = (await certificate.get("/v1/certificates/stats")).json()
            assert stats == {"site": None, "issued": 2, "valid": 1, "expired": 0, "revoked": 1, "superseded": 0}
            bad_filter = await certificate.get("/v1/certificates", params={"status": "LOST"})
            assert bad_filter.status_code == 422 and bad_filter.json()["fields"][0]["field"] == "query.status"
            assert (await certificate.get("/v1/certificates", headers={"Authorization": ""})).status_code == 401

            actions = await audit_actions(pg_url)
            for action in ("certificate.issue", "certificate.pdf", "certificate.revoke", "certificate.read",
                           "certificate.list"):
                assert action in actions, actions
        except BaseException:
            print(cluster.logs())
            raise


async def test_key_rotation_old_certificates_still_verify_and_the_public_route_is_rate_limited(cluster, token, tmp_path):
    h = auth(token)
    async with httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=30) as enrollment:
        try:
            first = await post(enrollment, recording(611))
            second = await post(enrollment, recording(612))
            async with httpx.AsyncClient(base_url=cluster.url("certificate"), headers=h, timeout=60) as certificate:
                old = await issue(certificate, first["id"])
                await save_keys(certificate, tmp_path / "keys-before.json")

            # An admin makes a new key in the key directory; the service signs with it after a restart.
            made = subprocess.run(ektp("certificate-keys", "generate", "--dir", str(cluster.workdir / "keys")),
                                  capture_output=True, text=True, timeout=120,
                                  env={k: v for k, v in os.environ.items() if not k.startswith("EKTP_")})
            assert made.returncode == 0, made.stdout + made.stderr
            restart_certificate(cluster, verify_rate_per_second=0.05, verify_rate_burst=6)

            async with httpx.AsyncClient(base_url=cluster.url("certificate"), headers=h, timeout=60) as certificate:
                published = await save_keys(certificate, tmp_path / "keys-after.json")
                assert len(published["keys"]) == 2 and old["kid"] in {k["kid"] for k in published["keys"]}
                new = await issue(certificate, second["id"])
                assert new["kid"] != old["kid"] and kid_of(new["token"]) == new["kid"]
                assert new["kid"] in {k["kid"] for k in published["keys"]}

                # The old certificate still verifies, online and offline; the new one with the new keys only.
                assert (await verify_online(certificate, old["token"]))["status"] == "valid"
                assert (await verify_online(certificate, new["token"]))["status"] == "valid"
                for keys in ("keys-before.json", "keys-after.json"):
                    result = await ektp_verify(old["token"], tmp_path / keys)
                    assert result.returncode == 0 and f"key {old['kid']}" in result.stdout, result.stdout
                result = await ektp_verify(new["token"], tmp_path / "keys-after.json")
                assert result.returncode == 0 and f"key {new['kid']}" in result.stdout, result.stdout
                stale = await ektp_verify(new["token"], tmp_path / "keys-before.json")
                assert stale.returncode == 1 and "INVALID (unknown_key)" in stale.stdout

                # The public route: 6 at once, then 1 every 20 s per client; the rest get 429.
                answers = [await certificate.get(f"/v1/verify/{new['token']}") for _ in range(8)]
                limited = [a for a in answers if a.status_code == 429]
                assert limited and all(a.status_code in (200, 429) for a in answers)
                assert limited[0].json()["error"] == "rate_limited" and int(limited[0].headers["Retry-After"]) >= 1
                # Operators' routes are not limited.
                assert (await certificate.get(f"/v1/certificates/{new['number']}")).status_code == 200
        except BaseException:
            print(cluster.logs())
            raise


async def test_expiry_renewal_and_the_policies_that_renew_and_issue_after_days(cluster, token):
    h = auth(token)
    restart_certificate(cluster, cert_valid_days=1, cert_renew_before_days=0)
    async with httpx.AsyncClient(base_url=cluster.url("enrollment"), headers=h, timeout=30) as enrollment:
        try:
            x, y, z = [await post(enrollment, recording(seed)) for seed in (621, 622, 623)]
            async with httpx.AsyncClient(base_url=cluster.url("certificate"), headers=h, timeout=60) as certificate:
                cert_x = await issue(certificate, x["id"])
                cert_y = await issue(certificate, y["id"])
                early = await certificate.post(f"/v1/certificates/{cert_x['number']}/renew")
                assert early.status_code == 409 and early.json()["error"] == "not_expiring"
                # the dates in both languages, for the operator at the counter: "perpanjangan dibuka 28 November 2026"
                assert "perpanjangan dibuka " in early.json()["detail"] and "renewal opens on " in early.json()["detail"]

            # Three days later (the service's clock moved, no sleeping): both have expired.
            restart_certificate(cluster, cert_clock_offset_days=3)
            async with httpx.AsyncClient(base_url=cluster.url("certificate"), headers=h, timeout=60) as certificate:
                online = await verify_online(certificate, cert_x["token"])
                assert online["status"] == "expired" and online["valid_until"] == cert_x["valid_until"]
                assert (await certificate.get(f"/v1/certificates/{cert_x['number']}")).json()["status"] == "EXPIRED"
                expired = (await certificate.get("/v1/certificates", params={"status": "EXPIRED"})).json()
                assert {c["number"] for c in expired["items"]} == {cert_x["number"], cert_y["number"]}
                assert (await certificate.get("/v1/certificates/stats")).json()["expired"] == 2

                # The resident still waits: renewal gives a new number and supersedes the old paper.
                renewed = await certificate.post(f"/v1/certificates/{cert_x['number']}/renew")
                assert renewed.status_code == 201, renewed.text
                renewed = renewed.json()
                assert renewed["number"] != cert_x["number"] and renewed["status"] == "VALID"
                old = (await certificate.get(f"/v1/certificates/{cert_x['number']}")).json()
                assert old["status"] == "SUPERSEDED" and old["superseded_by"] == renewed["number"]
                assert (await verify_online(certificate, renewed["token"]))["status"] == "valid"
                old_online = await verify_online(certificate, cert_x["token"])
                assert old_online["status"] == "revoked" and old_online["reason"] == "superseded"
                twice = await certificate.post(f"/v1/certificates/{cert_x['number']}/renew")
                assert twice.status_code == 409

            # The policies: expired certificates of waiting residents are renewed, and whoever has waited
            # two days gets one; each by itself, once.
            restart_certificate(cluster, cert_auto_renew="true", cert_auto_issue_after_days=2,
                                cert_policy_interval_seconds=1)
            async with httpx.AsyncClient(base_url=cluster.url("certificate"), headers=h, timeout=60) as certificate:
                async def by_policy() -> tuple[list[dict], list[dict]] | None:
                    ys, zs = await certificates_of(certificate, y["id"]), await certificates_of(certificate, z["id"])
                    return (ys, zs) if len(ys) == 2 and zs else None

                ys, zs = await eventually(by_policy, timeout=60, what="policies renewed y and issued to z")
                assert ys[0]["issued_by"] == "policy:auto_renew" and ys[0]["status"] == "VALID"
                assert ys[1]["number"] == cert_y["number"] and ys[1]["status"] == "SUPERSEDED"
                assert [c["issued_by"] for c in zs] == ["policy:after_days"]
                # x was renewed by hand and is valid: the policies leave it alone.
                xs = await certificates_of(certificate, x["id"])
                assert [c["number"] for c in xs] == [renewed["number"], cert_x["number"]]
                stats = (await certificate.get("/v1/certificates/stats")).json()
                assert stats["valid"] == 3 and stats["superseded"] == 2 and stats["expired"] == 0
        except BaseException:
            print(cluster.logs())
            raise


async def test_policy_issues_while_dedup_is_paused_then_duplicate_and_hand_over_revoke(cluster, token, pg_url):
    """Kupang 2016: the dedup licence lapses; everyone who records gets a certificate by itself. When dedup
    resumes, the one who recorded twice under two NIKs loses theirs; the other's ends at hand-over."""
    h = auth(token)
    site = "53.71.04"
    restart_certificate(cluster, cert_auto_issue_when_paused="true", cert_policy_interval_seconds=2)
    clients = {name: httpx.AsyncClient(base_url=cluster.url(name), headers=h, timeout=60)
               for name in ("enrollment", "dedup", "print", "certificate")}
    enrollment, dedup, printing, certificate = (clients[n] for n in ("enrollment", "dedup", "print", "certificate"))
    try:
        paused = await dedup.post("/v1/dedup/engine/pause", json={"reason": "lisensi ABIS berakhir"})
        assert paused.status_code == 200, paused.text

        person = new_person(np.random.default_rng(631))
        original = recording(631, person=person, pickup_site=site)
        again = recording(632, person=person)
        assert original["nik"] != again["nik"]
        first, second = await post(enrollment, original), await post(enrollment, again)

        async def auto_issued() -> list[dict] | None:
            found = [await certificates_of(certificate, e["id"]) for e in (first, second)]
            return [c[0] for c in found] if all(found) else None

        cert_first, cert_second = await eventually(auto_issued, timeout=90, what="certificates issued by the policy")
        assert cert_first["issued_by"] == cert_second["issued_by"] == "policy:when_paused"
        assert (await verify_online(certificate, cert_second["token"]))["status"] == "valid"

        # Idempotent: the policy keeps running, and nobody gets a second certificate.
        third = await post(enrollment, recording(633))
        await eventually(lambda: certificates_of(certificate, third["id"]), timeout=90, what="third certificate")
        for e in (first, second, third):
            assert len(await certificates_of(certificate, e["id"])) == 1

        # Dedup resumes: the second recording is the same person under another NIK.
        assert (await dedup.post("/v1/dedup/engine/resume")).status_code == 200
        await wait_status(enrollment, second["receipt_number"], "DUPLICATE", timeout=120)

        async def revoked(cert: dict) -> dict | None:
            body = await verify_online(certificate, cert["token"])
            return body if body["status"] == "revoked" else None

        gone = await eventually(lambda: revoked(cert_second), timeout=60, interval=0.5, what="duplicate's certificate revoked")
        assert gone["reason"] == "duplicate"

        # The first is printed and handed over: its certificate ends that day.
        response = await printing.post(f"/v1/print/sites/{site}/stock", json={"first_serial": "4100000001", "count": 5})
        assert response.status_code == 201, response.text
        cluster.start_agent(site)
        await wait_status(enrollment, first["receipt_number"], "PRINTED", timeout=120)
        assert (await verify_online(certificate, cert_first["token"]))["status"] == "valid"
        jobs = (await printing.get("/v1/print/jobs", params={"enrollment_id": first["id"]})).json()["items"]
        handed = await printing.post(f"/v1/print/jobs/{jobs[0]['id']}/issue")
        assert handed.status_code == 200, handed.text
        ended = await eventually(lambda: revoked(cert_first), timeout=60, interval=0.5, what="certificate revoked at hand-over")
        assert ended["reason"] == "card_issued"

        stats = (await certificate.get("/v1/certificates/stats")).json()
        assert stats["issued"] == 3 and stats["revoked"] == 2 and stats["valid"] == 1
        assert (await audit_actions(pg_url, cert_second["number"])) == ["certificate.issue", "certificate.revoke"]
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        for client in clients.values():
            await client.aclose()
