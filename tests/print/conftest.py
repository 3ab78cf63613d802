"""Fixtures for the card renderer, chip record and print drivers (a Kota Kupang resident), and the
print service in-process on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw

from services.print.app import create_app
from services.print.card import CardData
from shared.settings import Settings
from tests.print.pool import print_cluster  # noqa: F401 (a fixture, for every test here)

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_photo_jpeg(background: tuple[int, int, int] = (190, 30, 40)) -> bytes:
    """A passport-style 3:4 photo: a head-and-shoulders silhouette on the KTP red background."""
    img = Image.new("RGB", (300, 400), background)
    d = ImageDraw.Draw(img)
    d.ellipse((40, 270, 260, 520), fill=(30, 40, 70))  # shoulders, dark shirt
    d.rectangle((125, 215, 175, 290), fill=(150, 100, 70))  # neck
    d.ellipse((90, 80, 210, 240), fill=(165, 115, 80))  # face
    d.chord((85, 65, 215, 190), 180, 360, fill=(25, 20, 20))  # hair
    for x in (122, 165):
        d.ellipse((x, 145, x + 12, 153), fill=(30, 20, 20))  # eyes
    d.arc((130, 185, 170, 210), 20, 160, fill=(110, 50, 40), width=3)  # mouth
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=88)
    return out.getvalue()


def make_signature_png() -> bytes:
    img = Image.new("RGB", (420, 160), "white")
    d = ImageDraw.Draw(img)
    pts = [(20 + i * 3.8, 90 - 38 * math.sin(i / 7.0) * math.exp(-i / 120)) for i in range(100)]
    d.line(pts, fill=(10, 10, 40), width=5)
    d.line([(240, 120), (300, 40), (330, 110), (400, 60)], fill=(10, 10, 40), width=5)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def make_card_data(**overrides: Any) -> CardData:
    """A realistic Kota Kupang resident (NIK: Oebobo 53.71.04, woman born 05-06-1990)."""
    base = CardData(
        province="Nusa Tenggara Timur",
        regency="Kota Kupang",
        nik="5371044506900001",
        name="Maria Goreti Ndolu",
        birth_place="Kupang",
        birth_date=dt.date(1990, 6, 5),
        sex="PEREMPUAN",
        blood_type="O",
        street="Jl. Frans Seda No. 12",
        rt="3",
        rw="5",
        village="Fatululi",
        district="Oebobo",
        religion="KATHOLIK",
        marital_status="KAWIN",
        occupation="Pegawai Negeri Sipil",
        citizenship="WNI",
        photo_jpeg=make_photo_jpeg(),
        issue_place="Kota Kupang",
        issue_date=dt.date(2024, 3, 18),
        serial="5371-2024-0001234",
        signature_image=make_signature_png(),
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def print_lease() -> float:
    """The print service's lease (`print_api`); a test whose nodes must not be reaped while it runs
    sets a longer one with `@pytest.mark.parametrize("print_lease", [...])`."""
    return 1.0


@pytest.fixture
async def print_api(pg_url: str, amqp_url: str, token: str, tmp_path: Path,
                    print_lease: float) -> AsyncIterator[httpx.AsyncClient]:
    """The print service in-process; the client carries the bootstrap admin token."""
    settings = Settings(database_url=pg_url, broker_url=amqp_url, env="test", bootstrap_token=token,
                        data_dir=tmp_path, log_json=False, print_lease_seconds=print_lease)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            yield client


@pytest.fixture
def card_data() -> CardData:
    return make_card_data()


@pytest.fixture
def issuer_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = REPO_ROOT / "artifacts" / "print"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def make_card() -> Any:
    """Builder: `make_card(name=...)` states only the fields a test cares about."""
    return make_card_data
