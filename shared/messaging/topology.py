"""Every durable queue of the system and the event types bound to it.

Declared by every process at start (idempotent), so that no event is published before the queues
that must receive it exist. A service's consumers must name a queue listed here.
"""

from __future__ import annotations

QUEUES: dict[str, tuple[str, ...]] = {
    # enrollment keeps each resident's status timeline from every other service's events
    "enrollment.timeline": ("dedup.*", "print.*", "certificate.*"),
    "dedup.intake": ("enrollment.submitted",),
    "print.records": ("enrollment.submitted", "dedup.unique", "dedup.duplicate"),
    "certificate.records": (
        "enrollment.submitted",
        "dedup.unique",
        "dedup.duplicate",
        "dedup.enroll_failure",
        "dedup.adjudication_opened",
        "print.job_queued",
        "print.card_printed",
        "print.card_issued",
        "print.card_cancelled",
        "dedup.engine_paused",
        "dedup.engine_resumed",
    ),
}


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more words."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), routing_key.split("."))
