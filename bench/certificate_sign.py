"""Interim certificate throughput, beside the bare Ed25519 rates measured in the same run.

    .venv/bin/python bench/certificate_sign.py [--seconds 2] [--clients 8] [--database-url URL --broker-url URL] [--no-online]

Rows: bare Ed25519 sign / verify (cryptography), token sign, certificate render (token + A4 PDF
with QR and photo), token verification, offline verification from a 200 dpi PNG of the page and
from the PDF itself (rasterise + QR decode + verify): single process, single thread. Then online
verification: `GET /v1/verify/{token}` on a real certificate service (`ektp serve certificate`, one
uvicorn process; its rate limit lifted) over loopback HTTP, one client and --clients concurrent
clients; the database is a fresh SQLite file (embedded queue) unless --database-url names a
PostgreSQL one (migrated here; the certificate is added to it), which needs --broker-url (RabbitMQ).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from PIL import Image, ImageDraw  # noqa: E402

from services.certificate.document import (  # noqa: E402
    CertificateDocument,
    DinasIdentity,
    ResidentData,
    certificate_number,
    render_pdf,
)
from shared.certificate.offline import render_pdf_page, verify_offline  # noqa: E402
from shared.certificate.token import WITA, CertificateClaims, sign_token, verify_token  # noqa: E402
from shared.keys import KeySet, SigningKey, fingerprint, generate_key, load_signing_key  # noqa: E402

ISSUED = dt.datetime(2026, 11, 28, 9, 0, tzinfo=WITA)
NOW = ISSUED + dt.timedelta(days=3)


def rate(fn: Callable[[int], object], seconds: float) -> float:
    """Calls per second of fn(i), after one warm-up call, over at least `seconds`."""
    fn(0)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn(n)
        n += 1
    return n / elapsed


def photo() -> bytes:
    image = Image.new("RGB", (300, 400), (40, 90, 170))
    draw = ImageDraw.Draw(image)
    draw.ellipse((96, 64, 204, 200), fill=(205, 160, 125))
    draw.ellipse((36, 208, 264, 480), fill=(245, 245, 245))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def _issue_into(database_url: str, key_dir: Path) -> str:
    """A synthetic resident and a certificate for them, written as the service would; its token."""
    import numpy as np

    from ektp.synth.recordings import make_recording
    from services.certificate import service
    from shared.db import create_engine, make_sessionmaker
    from shared.messaging import new_event
    from shared.settings import Settings

    rec, _ = make_recording(random.Random(7), np.random.default_rng(7), today=dt.date.today())
    event = new_event("enrollment.submitted", {
        "enrollment_id": str(uuid.uuid4()),
        "record": {k: v for k, v in rec.items() if k != "biometrics"},
        "biometrics": {"photo_jpeg": rec["biometrics"]["photo_jpeg"]}})
    engine = create_engine(database_url, application_name="bench-certificate")
    try:
        async with make_sessionmaker(engine)() as session:
            await service.on_enrollment_submitted(session, event)
            cert = await service.issue(session, None, Settings(database_url=database_url), load_signing_key(key_dir),
                                       uuid.UUID(event.data["enrollment_id"]),
                                       now=dt.datetime.now(dt.UTC), actor="bench")
            await session.commit()
            return cert.token
    finally:
        await engine.dispose()


async def _http_rate(url: str, clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second of `clients` concurrent loopback clients (each waits for its answer), and
    the median latency in ms; every answer must say valid."""
    import httpx

    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=clients)) as client:
        assert (await client.get(url)).json()["status"] == "valid"
        deadline = time.perf_counter() + seconds

        async def worker() -> int:
            n = 0
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                answer = await client.get(url)
                latencies.append(time.perf_counter() - start)
                if answer.status_code != 200 or answer.json()["status"] != "valid":
                    raise RuntimeError(f"unexpected answer {answer.status_code} {answer.text[:200]}")
                n += 1
            return n

        start = time.perf_counter()
        done = sum(await asyncio.gather(*(worker() for _ in range(clients))))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return done / elapsed, 1000 * latencies[len(latencies) // 2]


def online_rates(seconds: float, clients: int, database_url: str | None,
                 broker_url: str | None) -> list[tuple[str, float, float]]:
    """(label, verifications per second, median ms) through a running certificate service."""
    import socket

    from shared.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="ektp-bench-") as tmp:
        work = Path(tmp)
        url = database_url or f"sqlite+aiosqlite:///{work / 'bench.db'}"
        upgrade(url)
        generate_key(work / "keys")
        token = asyncio.run(_issue_into(url, work / "keys"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_")}
        env.update({"EKTP_ENV": "test", "EKTP_DATABASE_URL": url, "EKTP_DATA_DIR": str(work),
                    "EKTP_LOG_LEVEL": "WARNING", "EKTP_VERIFY_RATE_PER_SECOND": "1e9",
                    "EKTP_VERIFY_RATE_BURST": "1000000000"})
        if broker_url:
            env["EKTP_BROKER_URL"] = broker_url
        root = Path(__file__).resolve().parents[1]
        server = subprocess.Popen([sys.executable, "-m", "ektp.cli", "serve", "certificate", "--port", str(port)],
                                  env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(f"{base}/readyz", server)
            verify_url = f"{base}/v1/verify/{token}"
            rows = []
            for n in (1, clients):
                per_second, median = asyncio.run(_http_rate(verify_url, n, seconds))
                rows.append((f"online verify: HTTP, {n} client{'s' if n > 1 else ''}", per_second, median))
            return rows
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_ready(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"certificate service exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients for the online rate")
    parser.add_argument("--database-url", help="PostgreSQL for the online rate (default: a fresh SQLite file)")
    parser.add_argument("--broker-url", help="RabbitMQ, with --database-url")
    parser.add_argument("--no-online", action="store_true", help="skip the online (HTTP) rows")
    args = parser.parse_args()
    seconds = args.seconds

    key = SigningKey.generate()
    keys = KeySet.of(key.public_key)
    dinas = DinasIdentity(head_name="Drs. NAMA KEPALA DINAS, M.Si.", head_nip="19700101 199503 1 001")
    resident = ResidentData(
        nik="5371044506900001", name="MARIA GORETTI FANGGIDAE", birth_place="KUPANG",
        birth_date=dt.date(1990, 6, 5), sex="PEREMPUAN", blood_type="O+",
        street="JL. EL TARI NO. 5", rt="003", rw="002", village="OEBOBO", kecamatan="OEBOBO",
        religion="KATHOLIK", marital_status="KAWIN", occupation="PEGAWAI NEGERI SIPIL",
    )  # fmt: skip
    jpeg, printed = photo(), fingerprint(key.public_key)

    def claims(i: int) -> CertificateClaims:
        return CertificateClaims.for_certificate(
            number=certificate_number(i % 10_000, 2026), nik=resident.nik, name=resident.name,
            birth_date=resident.birth_date, issuer="53.71", issued_at=ISSUED, valid_until=dt.date(2027, 5, 28),
        )  # fmt: skip

    def issue(i: int) -> bytes:
        number = certificate_number(i % 10_000, 2026)
        return render_pdf(
            CertificateDocument(
                dinas=dinas, number=number, resident=resident, photo_jpeg=jpeg, issued_on=ISSUED.date(),
                valid_until=dt.date(2027, 5, 28), token=sign_token(claims(i), key),
                key_fingerprint=printed, verify_url="https://dukcapil.kupangkota.go.id/v1/verify",
            )
        )  # fmt: skip

    token = sign_token(claims(1), key)
    signing_input = token.rsplit(".", 1)[0].encode()
    signature = key.sign(signing_input)
    pdf = issue(1)
    png = io.BytesIO()
    render_pdf_page(pdf, dpi=200).save(png, "PNG")
    png_bytes = png.getvalue()

    bare_sign = rate(lambda i: key.sign(signing_input), seconds)
    bare_verify = rate(lambda i: key.public_key.verify(signature, signing_input), seconds)
    rows = [
        ("Ed25519 sign (bare)", bare_sign, None),
        ("token sign", rate(lambda i: sign_token(claims(i), key), seconds), bare_sign),
        ("certificate render (token + PDF + QR)", rate(issue, seconds), bare_sign),
        ("Ed25519 verify (bare)", bare_verify, None),
        ("offline verify: token", rate(lambda i: verify_token(token, keys, now=NOW), seconds), bare_verify),
        ("offline verify: PNG 200 dpi", rate(lambda i: verify_offline(png_bytes, keys, now=NOW), seconds), bare_verify),
        ("offline verify: PDF", rate(lambda i: verify_offline(pdf, keys, now=NOW), seconds), bare_verify),
    ]

    print(f"certificate bench - {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, {seconds:g} s per row; token {len(token)} chars, "
          f"PDF {len(pdf) / 1024:.0f} KiB, PNG {len(png_bytes) / 1024:.0f} KiB")  # fmt: skip
    print(f"{'operation':<40}{'per second':>12}{'ms each':>10}{'vs bare':>10}")
    for name, per_second, bare in rows:
        versus = f"{per_second / bare:>9.1%}" if bare else f"{'-':>9}"
        print(f"{name:<40}{per_second:>12,.0f}{1000 / per_second:>10.3f} {versus}")
    if args.no_online:
        return
    database = "PostgreSQL" if args.database_url else "SQLite"
    if args.database_url and not args.broker_url:
        parser.error("--database-url (PostgreSQL) needs --broker-url")
    for name, per_second, median in online_rates(seconds, args.clients, args.database_url, args.broker_url):
        print(f"{name:<40}{per_second:>12,.0f}{median:>10.3f} {per_second / bare_verify:>9.1%}"
              f"  (median ms; 1 uvicorn process, {database})")


if __name__ == "__main__":
    main()
