"""Settings shared by every process, read from the environment (prefix ``EKTP_``).

Build them with ``Settings()`` in an app factory or CLI command, never at import time.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EKTP_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/ektp.db",
        description="SQLAlchemy URL: postgresql+asyncpg://... or sqlite+aiosqlite:///path",
    )
    broker_url: str | None = Field(
        default=None, description="amqp://user:pass@host:5672/ ; unset = the embedded queue in the database"
    )
    bootstrap_token: str | None = Field(
        default=None, description="A fixed admin credential (Authorization: Bearer ...)"
    )
    data_dir: Path = Field(default=Path("./var"), description="Where files of the all-in-one go")
    dinas_code: str = Field(default="53.71", description="Site code of the dinas running this system")
    log_level: str = "INFO"
    log_json: bool = True
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="Used in QR verify links")

    # messaging
    consumer_prefetch: int = 32
    max_delivery_attempts: int = Field(default=5, ge=1, description="Then a message is dead-lettered")
    outbox_poll_seconds: float = 0.2
    embedded_visibility_seconds: float = Field(
        default=30.0, description="A claimed embedded message is redelivered after this if not acknowledged"
    )

    # dedup
    dedup_target_fpir: float = Field(default=40.0, description="MOSIP targetFPIR: 40 means 1 in 10,000")

    # print
    print_lease_seconds: float = Field(default=15.0, description="A node missing heartbeats this long is lost")

    # certificate and the dinas that signs it
    cert_key_dir: Path | None = Field(
        default=None,
        description="Directory of the dinas's Ed25519 signing keys, for certificates and card chip records "
        "(default <data-dir>/keys, created outside production)",
    )
    cert_valid_months: int = Field(default=6, ge=1, le=12)
    cert_number_pattern: str = Field(
        default="470/{seq:04d}/Dukcapil/{year}", description="Certificate number; {seq} restarts each year"
    )
    dinas_region_name: str = "Kota Kupang"
    dinas_city: str = "Kupang"
    dinas_address: str = "Jalan S. K. Lerik, Kelapa Lima, Kota Kupang, Nusa Tenggara Timur"
    dinas_head_name: str = "Kepala Dinas (set EKTP_DINAS_HEAD_NAME)"
    dinas_head_nip: str = "-"
    dinas_head_rank: str = ""

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> "Settings":
        if self.env is Environment.PRODUCTION:
            if self.database_url.startswith("sqlite"):
                raise ValueError("EKTP_DATABASE_URL must be PostgreSQL in production")
            if self.bootstrap_token is not None and len(self.bootstrap_token) < 32:
                raise ValueError("EKTP_BOOTSTRAP_TOKEN must be at least 32 characters in production")
        return self

    @property
    def signing_key_dir(self) -> Path:
        """The dinas's Ed25519 keys: certificates and card chip records are signed with them."""
        return self.cert_key_dir or self.data_dir / "keys"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url


def new_token() -> str:
    """A fresh random credential secret."""
    return secrets.token_urlsafe(32)
