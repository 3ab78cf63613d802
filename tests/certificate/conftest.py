"""Fixtures for the certificate tests: keys in a temporary directory, a resident, a photo."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from services.certificate.document import CertificateDocument, DinasIdentity, ResidentData, certificate_number
from shared.certificate.token import WITA, CertificateClaims, sign_token
from shared.keys import SigningKey, fingerprint, generate_key, load_signing_key

ISSUED_AT = dt.datetime(2026, 11, 28, 9, 30, tzinfo=WITA)
VALID_UNTIL = dt.date(2027, 5, 28)
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=WITA)  # a few days after issue
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "certificate"


def make_photo_jpeg(width: int = 300, height: int = 400) -> bytes:
    """A synthetic 3x4 portrait: blue background, head and shoulders."""
    image = Image.new("RGB", (width, height), (40, 90, 170))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.32, height * 0.16, width * 0.68, height * 0.5), fill=(205, 160, 125))
    draw.ellipse((width * 0.12, height * 0.52, width * 0.88, height * 1.2), fill=(245, 245, 245))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def make_resident(**overrides: object) -> ResidentData:
    fields: dict[str, object] = dict(
        nik="5371044506900001",
        name="MARIA GORETTI FANGGIDAE",
        birth_place="KUPANG",
        birth_date=dt.date(1990, 6, 5),
        sex="PEREMPUAN",
        blood_type="O+",
        street="JL. EL TARI NO. 5, KOMPLEKS BTN KOLHUA BLOK C",
        rt="003",
        rw="002",
        village="OEBOBO",
        kecamatan="OEBOBO",
        religion="KATHOLIK",
        marital_status="KAWIN",
        occupation="PEGAWAI NEGERI SIPIL",
    )
    fields.update(overrides)
    return ResidentData(**fields)  # type: ignore[arg-type]


def make_claims(
    resident: ResidentData | None = None, *, number: str = "470/0001/Dukcapil/2026", **kw: object
) -> CertificateClaims:
    resident = resident or make_resident()
    args: dict[str, object] = dict(
        number=number,
        nik=resident.nik,
        name=resident.name,
        birth_date=resident.birth_date,
        issuer="53.71",
        issued_at=ISSUED_AT,
        valid_until=VALID_UNTIL,
    )
    args.update(kw)
    return CertificateClaims.for_certificate(**args)  # type: ignore[arg-type]


def make_document(key: SigningKey, resident: ResidentData | None = None, sequence: int = 1) -> CertificateDocument:
    resident = resident or make_resident()
    number = certificate_number(sequence, 2026)
    return CertificateDocument(
        dinas=DinasIdentity(
            head_name="Drs. YOHANES B. NDOEN, M.Si.",  # fictitious
            head_nip="19700101 199503 1 001",
            head_rank="Pembina Utama Muda (IV/c)",
        ),
        number=number,
        resident=resident,
        photo_jpeg=make_photo_jpeg(),
        issued_on=ISSUED_AT.date(),
        valid_until=VALID_UNTIL,
        token=sign_token(make_claims(resident, number=number), key),
        key_fingerprint=fingerprint(key.public_key),
        verify_url="https://dukcapil.kupangkota.go.id/console/verify",
    )


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    generate_key(directory)
    return directory


@pytest.fixture
def signing_key(key_dir: Path) -> SigningKey:
    return load_signing_key(key_dir)


class Builders:
    """Test-data builders, handed to tests as the `build` fixture (no cross-module imports)."""

    now = NOW
    issued_at = ISSUED_AT
    valid_until = VALID_UNTIL
    artifacts = ARTIFACTS
    photo = staticmethod(make_photo_jpeg)
    resident = staticmethod(make_resident)
    claims = staticmethod(make_claims)
    document = staticmethod(make_document)


@pytest.fixture
def build() -> type[Builders]:
    return Builders
