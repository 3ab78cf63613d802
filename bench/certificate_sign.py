"""Interim certificate throughput, beside the bare Ed25519 rates measured in the same run.

    .venv/bin/python bench/certificate_sign.py [--seconds 2]

Rows: bare Ed25519 sign / verify (cryptography), token sign, certificate render (token + A4 PDF
with QR and photo), token verification, offline verification from a 200 dpi PNG of the page and
from the PDF itself (rasterise + QR decode + verify). Single process, single thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import platform
import sys
import time
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
from shared.keys import KeySet, SigningKey, fingerprint  # noqa: E402
from services.certificate.offline import render_pdf_page, verify_offline  # noqa: E402
from services.certificate.token import WITA, CertificateClaims, sign_token, verify_token  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    seconds = parser.parse_args().seconds

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


if __name__ == "__main__":
    main()
