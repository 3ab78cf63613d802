"""Message handlers of the certificate service."""

from __future__ import annotations

from collections.abc import Sequence

from services.certificate import service
from shared.messaging.consumer import Consumer
from shared.runtime import ServiceContext


def consumers(ctx: ServiceContext) -> Sequence[Consumer]:
    handlers = {"enrollment.submitted": service.on_enrollment_submitted}
    handlers.update({t: service.on_status_event for t in service.STATUS_BY_EVENT})
    return [Consumer("certificate.records", handlers)]
