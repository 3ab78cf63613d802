"""Message handlers of the dedup service."""

from __future__ import annotations

from collections.abc import Sequence

from services.dedup import service
from shared.messaging.consumer import Consumer
from shared.runtime import ServiceContext


def consumers(ctx: ServiceContext) -> Sequence[Consumer]:
    return [Consumer("dedup.intake", {"enrollment.submitted": service.intake})]
