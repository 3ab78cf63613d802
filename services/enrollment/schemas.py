"""Request and response shapes of the enrollment service.

`RecordingIn` is the contract kecamatan systems integrate against (docs/api.md). It checks the
*structure* (types, required fields, enumerations); the domain rules that need more than one
field (NIK against birth date and sex, region codes, card-age, template decoding and quality)
live in `services.enrollment.validation` and run after it, so that an operator gets every
problem of a recording in one answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Str = Annotated[str, StringConstraints(strip_whitespace=True)]
# An identifier: blank is refused (field.blank), not taken as a value (an idempotency key "" was).
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Sex(StrEnum):
    MALE = "LAKI-LAKI"
    FEMALE = "PEREMPUAN"


class Religion(StrEnum):
    ISLAM = "ISLAM"
    KRISTEN = "KRISTEN"
    KATHOLIK = "KATHOLIK"
    HINDU = "HINDU"
    BUDHA = "BUDHA"
    KHONGHUCU = "KHONGHUCU"
    KEPERCAYAAN = "KEPERCAYAAN TERHADAP TUHAN YME"


class MaritalStatus(StrEnum):
    BELUM_KAWIN = "BELUM KAWIN"
    KAWIN = "KAWIN"
    CERAI_HIDUP = "CERAI HIDUP"
    CERAI_MATI = "CERAI MATI"


class Citizenship(StrEnum):
    WNI = "WNI"
    WNA = "WNA"


class FingerPosition(StrEnum):
    RIGHT_THUMB = "RIGHT_THUMB"
    RIGHT_INDEX = "RIGHT_INDEX"
    RIGHT_MIDDLE = "RIGHT_MIDDLE"
    RIGHT_RING = "RIGHT_RING"
    RIGHT_LITTLE = "RIGHT_LITTLE"
    LEFT_THUMB = "LEFT_THUMB"
    LEFT_INDEX = "LEFT_INDEX"
    LEFT_MIDDLE = "LEFT_MIDDLE"
    LEFT_RING = "LEFT_RING"
    LEFT_LITTLE = "LEFT_LITTLE"


class Eye(StrEnum):
    RIGHT = "RIGHT"
    LEFT = "LEFT"


class ExceptionReason(StrEnum):
    """Why a biometric could not be captured; recorded, never a reason to refuse."""

    AMPUTATED = "AMPUTATED"
    DISABILITY = "DISABILITY"
    INJURY = "INJURY"
    UNCAPTURABLE = "UNCAPTURABLE"


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: Str = Field(description="Alamat: street, house number, dusun", examples=["JL. EL TARI NO. 5"])
    rt: Str = Field(description="RT, 3 digits", examples=["003"])
    rw: Str = Field(description="RW, 3 digits", examples=["002"])
    village_code: Str = Field(
        description="Kelurahan/desa, Kemendagri code with dots", examples=["53.71.04.1001"]
    )


class RecordingContext(BaseModel):
    """Where, when and by whom the recording was made."""

    model_config = ConfigDict(extra="forbid")

    site: Str = Field(description="Recording site code", examples=["53.71.04"])
    station: Id = Field(max_length=40, description="Recording station id at the site", examples=["ST01"])
    operator: Id = Field(max_length=60, description="Operator id", examples=["op-012"])
    recorded_at: dt.datetime = Field(description="Capture time, with time zone")


class FingerprintTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: FingerPosition
    format: Id = Field(examples=["ektp-fp-emb"])
    version: int = Field(ge=1)
    quality: int = Field(ge=0, le=100, description="NFIQ-like 0..100, higher is better")
    template: str = Field(description="base64 of the template bytes")


class IrisTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eye: Eye
    format: Id = Field(examples=["ektp-iris-code"])
    version: int = Field(ge=1)
    quality: int = Field(ge=0, le=100)
    code: str = Field(description="base64 of the 2048-bit iris code")
    mask: str = Field(description="base64 of the 2048-bit mask; 1 = usable bit")


class FaceTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Id = Field(examples=["ektp-face-emb"])
    version: int = Field(ge=1)
    quality: int = Field(ge=0, le=100)
    template: str = Field(description="base64 of the template bytes")


class BiometricException(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: FingerPosition | Eye
    reason: ExceptionReason
    note: Str | None = Field(default=None, max_length=200)


class Biometrics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fingerprints: list[FingerprintTemplate] = Field(max_length=10)
    irises: list[IrisTemplate] = Field(max_length=2)
    face: FaceTemplate
    photo_jpeg: str = Field(description="base64 JPEG printed on the card")
    signature_png: str | None = Field(default=None, description="base64 PNG or JPEG of the signature")
    exceptions: list[BiometricException] = Field(default_factory=list, max_length=12)


class RecordingIn(BaseModel):
    """One recording (perekaman) posted by a kecamatan or dinas system."""

    model_config = ConfigDict(extra="forbid")

    station_recording_id: Id | None = Field(
        default=None,
        max_length=80,
        description="The station's own id for this recording; used as the idempotency key "
        "when no Idempotency-Key header is sent",
    )
    nik: Str = Field(description="16 digits", examples=["5371044506900001"])
    kk_number: Str = Field(description="Family card number, 16 digits")
    name: Str = Field(description="As printed: Latin letters, at most 60 characters")
    birth_place: Str
    birth_date: dt.date
    sex: Sex
    blood_type: Str = Field(description="A, B, AB, O with optional + or -, or '-'")
    address: Address
    religion: Religion
    marital_status: MaritalStatus
    occupation: Str
    citizenship: Citizenship = Citizenship.WNI
    pickup_site: Str = Field(description="Site where the card is printed and collected")
    recording: RecordingContext
    biometrics: Biometrics
    previous_enrollment_id: uuid.UUID | None = Field(
        default=None, description="Set when this re-captures an ENROLL_FAILURE record or replaces a card"
    )


# ---- responses ---------------------------------------------------------------------------------


class Issue(BaseModel):
    field: str
    code: str
    severity: str
    message_id: str
    message_en: str


class EnrollmentAccepted(BaseModel):
    id: uuid.UUID
    receipt_number: str
    status: str
    siak_status: str
    warnings: list[Issue]
    status_url: str


class TimelineStep(BaseModel):
    at: dt.datetime
    step: str
    status: str | None
    text_id: str
    text_en: str
    detail: dict


class EnrollmentSummary(BaseModel):
    id: uuid.UUID
    receipt_number: str
    nik: str
    name: str
    status: str
    siak_status: str
    pickup_site: str
    recording_site: str
    created_at: dt.datetime


class EnrollmentDetail(EnrollmentSummary):
    status_reason: str | None
    record: dict
    warnings: list[Issue]
    previous_enrollment_id: uuid.UUID | None
    correction: str | None = Field(description="recapture (after ENROLL_FAILURE) or replacement (after printing)")
    next_enrollment_ids: list[uuid.UUID] = Field(description="Later recordings that correct this one")
    timeline: list[TimelineStep]


class EnrollmentPage(BaseModel):
    items: list[EnrollmentSummary]
    total: int
    limit: int
    offset: int


class DedupPaused(BaseModel):
    """Why recordings wait: de-duplication is paused (e.g. the matcher's licence expired)."""

    reason: str | None
    since: dt.datetime | None
    text_id: str
    text_en: str


class PublicStatus(BaseModel):
    """What anyone holding the receipt may see: no NIK, the name masked."""

    receipt_number: str
    name_masked: str
    status: str
    status_id: str
    status_en: str
    pickup_site: str
    pickup_place_id: str = Field(description='Where to collect the card: "Kantor Kecamatan Oebobo (53.71.04)"')
    pickup_place_en: str = Field(description='The same in English: "Oebobo kecamatan office (53.71.04)"')
    waiting_position: int | None = Field(description="Place among recordings waiting for de-duplication")
    dedup_paused: DedupPaused | None = Field(default=None, description="Set while waiting and dedup is paused")
    timeline: list[TimelineStep]


class ErrorBody(BaseModel):
    error: str
    detail: str | dict | list | None
    fields: list[Issue]

    model_config = ConfigDict(extra="allow")


class BatchItemAnswer(BaseModel):
    index: int = Field(description="Position of the recording in the batch, from 0")
    status: int = Field(description="201 created, 200 replayed, 403/404/409/422 refused")
    station_recording_id: str | None
    receipt_number: str | None = None
    enrollment: EnrollmentAccepted | None = None
    error: ErrorBody | None = None


class BatchAnswer(BaseModel):
    created: int
    replayed: int
    refused: int
    items: list[BatchItemAnswer]


class ServedSites(BaseModel):
    dinas: str = Field(description="The dinas's site code (EKTP_DINAS_CODE), e.g. 53.71")
    sites: list[str] = Field(description="The sites whose cards this dinas prints and hands over, where a "
                                         "recording's pickup_site may be: the dinas's code, then its kecamatan's")


class EnrollmentStats(BaseModel):
    site: str | None = Field(description="The site counted, or null for every site")
    total: int
    by_status: dict[str, int]
    by_site: dict[str, dict[str, int]] = Field(description="pickup site → status → count")
    dedup_paused: DedupPaused | None
