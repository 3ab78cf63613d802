"""Settings shared by every process, read from the environment (prefix ``EKTP_``).

Build them with ``Settings()`` in an app factory or CLI command, never at import time.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator
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
    data_key: str | None = Field(
        default=None, description="base64 of 32 random bytes: encrypts biometrics, photos and events at rest "
        "(required in production; elsewhere <data-dir>/data.key is made once)"
    )
    bootstrap_token: str | None = Field(
        default=None, description="A fixed admin credential (Authorization: Bearer ...)"
    )
    data_dir: Path = Field(default=Path("./var"), description="Where files of the all-in-one go")
    dinas_code: str = Field(default="53.71", description="Site code of the dinas running this system")
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest request body (a recording is ~15 KB; batches have their own bound)"
    )
    db_pool_size: int = Field(
        default=20, ge=1, description="Database connections a process keeps open (PostgreSQL); "
        "requests beyond it wait for one rather than open and close extra connections")
    credential_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long a process trusts a credential it checked (PostgreSQL; it forgets "
        "them all at once when the credential table changes); 0: every request reads the table")
    batch_concurrency: int = Field(
        default=2, ge=1, description="Enrollment batches a process checks and writes at once; more wait their turn")
    log_level: str = "INFO"
    log_json: bool = True
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="Used in QR verify links")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", min_length=1,
        description="The proxies (comma-separated addresses or networks, or *) whose X-Forwarded-For and "
        "X-Forwarded-Proto the services believe: the gateway or ingress in front of them. The public "
        "routes' rate limits count each resident by that address; a proxy not named here is one client")

    # messaging
    consumer_prefetch: int = 32
    max_delivery_attempts: int = Field(default=5, ge=1, description="Then a message is dead-lettered")
    outbox_poll_seconds: float = 0.2
    outbox_keep_sent_hours: float = Field(
        default=24.0, ge=0, description="Published outbox rows (sealed events; the enrollment's carry biometrics) are "
        "deleted this many hours after they were sent")
    fault_publish_twice: bool = Field(
        default=False, description="Fault injection (reliability suite only): relay every event twice"
    )
    embedded_visibility_seconds: float = Field(
        default=30.0, description="A claimed embedded message is redelivered after this if not acknowledged"
    )

    # dedup
    dedup_target_fpir: float = Field(default=40.0, description="MOSIP targetFPIR: 40 means 1 in 10,000")
    dedup_matcher: str = Field(default="builtin", pattern="^(builtin|abis)$",
                               description="builtin (the open matcher in-process) or abis (an external ABIS)")
    dedup_case_hold_minutes: float = Field(
        default=15.0, gt=0, le=480, description="An adjudicator who takes a case holds it this long (renewed when "
        "taken again); no other adjudicator may take or decide it meanwhile")
    abis_url: str | None = Field(default=None, description="AMQP URL of the external ABIS's broker (default EKTP_BROKER_URL)")
    abis_request_queue: str = Field(default="abis.request", description="Queue the ABIS takes requests from")
    abis_instance: str | None = Field(default=None, description="Names this process's response queue abis.response.<instance>")
    abis_timeout_seconds: float = Field(default=10.0, gt=0, description="An ABIS request not answered in this is retried")
    abis_retries: int = Field(default=1, ge=0, description="Retries of a timed-out ABIS request")
    abis_pause_after: int = Field(default=3, ge=1, description="Failed ABIS calls in a row before dedup pauses itself")
    abis_ping_seconds: float = Field(default=30.0, gt=0, description="How often an idle or self-paused engine pings the ABIS")
    abis_max_results: int = Field(default=10, ge=1, description="MOSIP flags.maxResults")
    abis_url_secret: str | None = Field(default=None, description="HMAC key of the biometrics URLs (default derived from EKTP_BOOTSTRAP_TOKEN)")
    abis_url_ttl_seconds: int = Field(default=300, ge=10, description="Lifetime of a signed biometrics URL")
    abis_biometrics_base_url: str | None = Field(default=None, description="Base URL the ABIS fetches biometrics from (the dedup service; default EKTP_PUBLIC_BASE_URL)")

    # print
    print_lease_seconds: float = Field(default=15.0, description="A node missing heartbeats this long is lost")
    print_low_stock_threshold: int = Field(
        default=100, ge=0, description="print.stock_low is raised once when a site's available blanks fall to this "
        "(a site may override it: PUT /v1/print/sites/{site}/stock/threshold)")
    print_queue_metrics_seconds: float = Field(
        default=5.0, gt=0, description="How often the gauge ektp_print_jobs_waiting{site} is refreshed")

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
    cert_valid_days: int | None = Field(default=None, ge=1, description="Validity in days; overrides cert_valid_months")
    cert_renew_before_days: int = Field(default=14, ge=0, description="A certificate may be renewed this many days before it expires")
    cert_auto_issue_after_days: int | None = Field(
        default=None, ge=0, description="Policy: every resident still waiting this many days after recording gets a certificate")
    cert_auto_issue_when_paused: bool = Field(
        default=False, description="Policy: while dedup is paused, every waiting resident gets a certificate")
    cert_auto_renew: bool = Field(default=False, description="Policy: renew expired certificates of residents still waiting")
    cert_policy_interval_seconds: float = Field(default=60.0, gt=0, description="How often the certificate policies run")
    cert_clock_offset_days: int = Field(
        default=0, description="Shifts the certificate service's clock by days (drills and tests; refused in production)")
    verify_rate_per_second: float = Field(default=5.0, gt=0, description="Public GET /v1/verify: requests per second per client IP")
    verify_rate_burst: int = Field(default=30, ge=1, description="Public GET /v1/verify: burst per client IP")
    status_rate_per_second: float = Field(default=20.0, gt=0, description="Public GET /v1/status: requests per second per client IP")
    status_rate_burst: int = Field(default=100, ge=1, description="Public GET /v1/status: burst per client IP")
    dinas_region_name: str = "Kota Kupang"
    dinas_city: str = Field(default="Kupang", min_length=1, description="Printed under the photo of every card")
    dinas_address: str = "Jalan S. K. Lerik, Kelapa Lima, Kota Kupang, Nusa Tenggara Timur"
    dinas_head_name: str = "Kepala Dinas (set EKTP_DINAS_HEAD_NAME)"
    dinas_head_nip: str = "-"
    dinas_head_rank: str = ""

    @field_validator("dinas_city")
    @classmethod
    def _city_fits_the_card(cls, city: str) -> str:
        """Every card prints the city under its photo: one that does not fit would hold every card
        at print, so the service refuses to start with it."""
        from shared.card.fit import DoesNotFit, fit
        from shared.card.layout import field
        from shared.card.values import printed

        try:
            fit(field("issue_place"), printed(city))
        except DoesNotFit as e:
            raise ValueError(f"the city is printed under the photo on every card: {e}") from None
        return city

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> "Settings":
        if self.env is Environment.PRODUCTION:
            if self.database_url.startswith("sqlite"):
                raise ValueError("EKTP_DATABASE_URL must be PostgreSQL in production")
            if not self.data_key:
                raise ValueError("EKTP_DATA_KEY is required in production (base64 of 32 random bytes)")
            if self.bootstrap_token is not None and len(self.bootstrap_token) < 32:
                raise ValueError("EKTP_BOOTSTRAP_TOKEN must be at least 32 characters in production")
            if self.cert_clock_offset_days:
                raise ValueError("EKTP_CERT_CLOCK_OFFSET_DAYS must be 0 in production")
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
