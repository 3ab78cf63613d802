"""Message handlers of the print service."""

from __future__ import annotations

from collections.abc import Sequence

from services.print import service
from shared.messaging.consumer import Consumer
from shared.runtime import ServiceContext


def consumers(ctx: ServiceContext) -> Sequence[Consumer]:
    return [Consumer("print.records", {
        "enrollment.submitted": service.on_enrollment_submitted,
        "dedup.unique": service.on_dedup_unique,
        "dedup.duplicate": service.on_dedup_duplicate,
    })]
