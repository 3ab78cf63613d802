"""Use cases of the print service. Functions flush; the caller commits.

Jobs wait in their site's queue (rows QUEUED, oldest first). Every live agent of the site claims
jobs up to its free capacity (long-poll), so a new agent gets work at once and work spreads by
free capacity. A backup claims only while no live primary of its site has room. A claim reserves
a blank card from the site's stock; no stock, no claim: the jobs wait with the reason shown.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.print import repository
from services.print.models import (
    BlankCard, JobStatus, NodeRole, NodeStatus, PrintJob, PrintNode, PrintRecord, SerialStatus, SiteRoute, SiteStock,
    messaging,
)
from services.print.schemas import NodeIn, StockIn, StockView, TransferIn
from shared.auth.audit import audit
from shared.auth.principal import Principal, Role
from shared.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from shared.messaging import Event, new_event
from shared.messaging.outbox import add_event
from shared.sites import require_known

NO_STOCK = "no blank cards in stock at this site / blangko habis"
NO_NODE = "no live print server at this site / tidak ada server cetak aktif"
BUSY = "waiting for a free printer / menunggu printer kosong"
REPLACED = "replaced"  # a record's outcome when a newer recording of the person replaced it before printing


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)



# ---- records and jobs from events ----------------------------------------------------------

async def _record(session: AsyncSession, enrollment_id: uuid.UUID) -> PrintRecord:
    rec = await repository.record(session, enrollment_id)
    if rec is None:
        rec = PrintRecord(enrollment_id=enrollment_id)
        session.add(rec)
    return rec


async def on_enrollment_submitted(session: AsyncSession, event: Event) -> None:
    rec = await _record(session, uuid.UUID(event.data["enrollment_id"]))
    record, biometrics = event.data["record"], event.data["biometrics"]
    fingers = {f["position"]: f["template"] for f in biometrics.get("fingerprints", [])}
    rec.card = {
        "record": record,
        "photo_jpeg": biometrics.get("photo_jpeg"),
        "signature_png": biometrics.get("signature_png"),
        "right_index": fingers.get("RIGHT_INDEX"),
        "left_index": fingers.get("LEFT_INDEX"),
    }
    rec.pickup_site = record["pickup_site"]
    await session.flush()
    await _maybe_queue(session, rec)


async def on_dedup_unique(session: AsyncSession, event: Event) -> None:
    rec = await _record(session, uuid.UUID(event.data["enrollment_id"]))
    if rec.outcome != REPLACED:  # a newer recording of the person replaced it already: no card
        rec.outcome = "unique"
    rec.pickup_site = rec.pickup_site or event.data.get("site")
    await session.flush()
    if event.data.get("replacement_of"):
        await _replace(session, uuid.UUID(event.data["replacement_of"]), by=rec.enrollment_id)
    await _maybe_queue(session, rec)


async def _replace(session: AsyncSession, enrollment_id: uuid.UUID, *, by: uuid.UUID) -> None:
    """Dedup found a newer recording of the same person (same NIK, same biometrics) that replaces
    this record: the resident gets one card, the new one, and the record becomes REPLACED. Its card
    not started yet is cancelled; one printed but not handed over is void (destroy it: its data is
    the old one); one being printed is void once printed, cancelled if it spoils. A card handed
    over already stays the resident's until the new one is."""
    old = await _record(session, enrollment_id)
    if old.outcome == REPLACED:
        return  # a redelivered decision
    job = await repository.live_job(session, enrollment_id)
    if job is not None and job.status == JobStatus.ISSUED:
        return
    old.outcome = REPLACED
    old.replaced_by = by
    await session.flush()
    if job is None or job.status in (JobStatus.QUEUED, JobStatus.HELD):
        await _cancel(session, old, job)
    elif job.status == JobStatus.PRINTED:
        await _void_replaced(session, old, job)
    # CLAIMED: `report` voids or cancels it when its agent tells how it went.


async def _cancel(session: AsyncSession, rec: PrintRecord, job: PrintJob | None) -> None:
    """`print.card_cancelled`: no card of this replaced record will be handed over."""
    if job is not None:
        job.status = JobStatus.CANCELLED
        job.wait_reason = f"replaced by enrollment {rec.replaced_by} / diganti rekaman {rec.replaced_by}"
        await session.flush()
    await add_event(session, messaging, new_event("print.card_cancelled", {
        "job_id": str(job.id) if job else None, "enrollment_id": str(rec.enrollment_id),
        "site": job.site if job else rec.pickup_site, "reason": "replaced", "replaced_by": str(rec.replaced_by)},
        key=str(rec.enrollment_id)))


async def _void_replaced(session: AsyncSession, rec: PrintRecord, job: PrintJob) -> None:
    """A printed card of a replaced record is void, never handed over; then the record's card is
    cancelled."""
    reason = f"replaced by enrollment {rec.replaced_by} / diganti rekaman baru"
    await _void(session, job, reason, blank_note=reason)
    await _cancel(session, rec, None)


async def _void(session: AsyncSession, job: PrintJob, reason: str, *, blank_note: str) -> None:
    """A printed card made VOID (`print.card_voided`: destroy it); its serial stays USED, `blank_note`
    on its blank."""
    blank = await repository.blank_by_claim(session, job.claim_id) if job.claim_id else None
    if blank is not None:
        blank.reason = f"void: {blank_note}"[:200]
    job.status = JobStatus.VOID
    await session.flush()
    key = str(job.enrollment_id)
    await add_event(session, messaging, new_event("print.card_voided", {
        "job_id": str(job.id), "enrollment_id": key, "site": job.site, "serial": job.serial, "reason": reason},
        key=key))


async def _requeue(session: AsyncSession, job: PrintJob) -> None:
    """A claimed job whose blank was spoiled goes back to the queue; cancelled if its record was
    replaced meanwhile."""
    job.status = JobStatus.QUEUED
    job.node_id = job.claim_id = job.serial = None
    rec = await repository.record(session, job.enrollment_id, for_update=False)
    if rec is not None and rec.outcome == REPLACED:
        await _cancel(session, rec, job)


async def on_dedup_duplicate(session: AsyncSession, event: Event) -> None:
    rec = await _record(session, uuid.UUID(event.data["enrollment_id"]))
    rec.outcome = "duplicate"
    await session.flush()


async def _maybe_queue(session: AsyncSession, rec: PrintRecord) -> None:
    """Card data and a unique decision may arrive in either order; the second one queues the job."""
    if rec.card is None or rec.outcome != "unique":
        return
    if await repository.job_for_enrollment(session, rec.enrollment_id) is not None:
        return
    site = print_sites(await repository.routes(session)).get(rec.pickup_site, rec.pickup_site)
    job = PrintJob(id=uuid.uuid4(), enrollment_id=rec.enrollment_id, site=site, status=JobStatus.QUEUED,
                   created_at=_now(), attempts=0)
    session.add(job)
    await session.flush()
    await add_event(session, messaging, new_event(
        "print.job_queued", {"job_id": str(job.id), "enrollment_id": str(job.enrollment_id), "site": job.site,
                             "pickup_site": rec.pickup_site},
        key=str(job.enrollment_id)))


# ---- nodes -----------------------------------------------------------------------------------

@dataclass
class Registered:
    node: PrintNode
    replaced: PrintNode | None = None  # the node of its previous process, if that was still live
    released: int = 0  # the replaced node's claims put back in the queue


async def register_node(session: AsyncSession, principal: Principal, body: NodeIn, lease_seconds: float, *,
                        sites: Sequence[str]) -> Registered:
    """A print server joins its site's pool; its site is one of the dinas's (`sites`). It names the
    node of its previous process (`replaces`) when it restarted: see `_replace_node`."""
    require_known(sites, ("site", body.site))
    principal.require_site(body.site)
    replaced, released = await _replace_node(session, principal, body) if body.replaces else (None, 0)
    now = _now()
    node = PrintNode(id=uuid.uuid4(), name=body.name, site=body.site, role=body.role, capacity=body.capacity,
                     printer_model=body.printer_model, version=body.version, status=NodeStatus.LIVE,
                     credential=principal.actor, registered_at=now, last_heartbeat=now,
                     lease_expires_at=now + dt.timedelta(seconds=lease_seconds), cards_printed=0)
    session.add(node)
    await session.flush()
    return Registered(node, replaced, released)


async def _replace_node(session: AsyncSession, principal: Principal, body: NodeIn) -> tuple[PrintNode | None, int]:
    """A restarted print server's previous node, of the same name and site: its process has ended (the
    agent knows: it holds the lock of the file it keeps that node's id in, `agent/identity.py`). Still
    LIVE or DRAINING (its lease not run out yet, or the service's restart grace not over), it is LOST
    now and its claims go back to the queue as a lost node's do (their blanks spoiled, reason
    `node_restarted`: the old process may have printed them; a late report is void). Before, its
    cards waited for the lease or the grace (~30 s after an `ektp up` restart). A node already LOST
    or GONE, or unknown (a database restored from before it), is left as it is."""
    assert body.replaces is not None
    old = await repository.node(session, body.replaces, for_update=True)
    if old is None:
        return None, 0
    if (old.site, old.name) != (body.site, body.name):
        raise InvalidInput("replaces: not this print server's node", fields=[FieldProblem(
            field="replaces", code="node.not_same_server",
            message_id=f"Node {old.id} bukan node server cetak ini: namanya {old.name!r} di lokasi {old.site}, "
                       f"bukan {body.name!r} di {body.site}.",
            message_en=f"Node {old.id} is not this print server's: it is {old.name!r} at site {old.site}, "
                       f"not {body.name!r} at {body.site}.")])
    if old.status not in (NodeStatus.LIVE, NodeStatus.DRAINING):
        return None, 0
    old.status = NodeStatus.LOST
    released = await _release_claims(session, old, reason="agent restarted: its previous process ended mid-print",
                                     code="node_restarted")
    await audit(session, principal, "print.node.restarted", "print_node", str(old.id),
                {"name": old.name, "site": old.site, "released_jobs": released})
    return old, released


async def _own_node(session: AsyncSession, principal: Principal, node_id: uuid.UUID) -> PrintNode:
    node = await repository.node(session, node_id, for_update=True)
    if node is None:
        raise NotFound(f"print node {node_id} not found")
    principal.require_site(node.site)
    return node


async def heartbeat(session: AsyncSession, principal: Principal, node_id: uuid.UUID, lease_seconds: float) -> PrintNode:
    node = await _own_node(session, principal, node_id)
    if node.status in (NodeStatus.LOST, NodeStatus.GONE):
        raise Conflict(f"node {node_id} is {node.status}; register again", code="node_not_live")
    now = _now()
    node.last_heartbeat = now
    node.lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
    await session.flush()
    return node


async def drain_node(session: AsyncSession, principal: Principal, node_id: uuid.UUID) -> PrintNode:
    node = await _own_node(session, principal, node_id)
    if node.status == NodeStatus.LIVE:
        node.status = NodeStatus.DRAINING
    await audit(session, principal, "print.node.drain", "print_node", str(node.id), {"name": node.name})
    await session.flush()
    return node


async def deregister_node(session: AsyncSession, principal: Principal, node_id: uuid.UUID) -> PrintNode:
    node = await _own_node(session, principal, node_id)
    await _release_claims(session, node, reason="agent deregistered holding this claim", code="node_deregistered")
    node.status = NodeStatus.GONE
    await session.flush()
    return node


async def _release_claims(session: AsyncSession, node: PrintNode, *, reason: str, code: str) -> int:
    """Jobs a node held go back to the queue; their blanks count as spoiled (the agent may have
    printed them: such a card is void), so no serial is ever used twice. Each such blank is told
    as an agent's spoiled report is (`print.card_spoiled`, with `code` as the reason)."""
    jobs = await repository.claimed_by(session, node.id)
    for job in jobs:
        if job.claim_id is not None:
            blank = await repository.blank_by_claim(session, job.claim_id)
            if blank is not None and blank.status == SerialStatus.RESERVED:
                blank.status = SerialStatus.SPOILED
                blank.reason = reason
                blank.used_at = _now()
                await _card_spoiled(session, job, blank.serial, code)
        await _requeue(session, job)
    await session.flush()
    return len(jobs)


async def _card_spoiled(session: AsyncSession, job: PrintJob, serial: str | None, reason: str) -> None:
    """`print.card_spoiled`: the job's blank `serial` is spoiled and the job queued again (the
    resident's timeline notes it)."""
    await add_event(session, messaging, new_event("print.card_spoiled", {
        "job_id": str(job.id), "enrollment_id": str(job.enrollment_id), "site": job.site, "serial": serial,
        "reason": reason}, key=str(job.enrollment_id)))


async def reap_lost_nodes(session: AsyncSession) -> int:
    lost = 0
    for node in await repository.expired_nodes(session, _now()):
        node.status = NodeStatus.LOST
        await _release_claims(session, node, reason="agent lost mid-print (lease expired)", code="node_lost")
        lost += 1
    await session.flush()
    return lost


# ---- claiming and reporting -----------------------------------------------------------------

@dataclass
class Claim:
    job: PrintJob
    card: dict[str, Any]


async def claim(session: AsyncSession, principal: Principal, node_id: uuid.UUID, *, max_jobs: int,
                lease_seconds: float, low_threshold: int | None = None,
                holding: Collection[uuid.UUID] | None = None) -> tuple[list[Claim], str]:
    """Jobs for the node and the node's status (a node told DRAINING stops asking). First those
    of its claims its agent never heard of (`holding`: the claims it has), then new ones."""
    node = await _own_node(session, principal, node_id)
    if node.status not in (NodeStatus.LIVE, NodeStatus.DRAINING):
        return [], node.status
    unheard = await _unheard_claims(session, principal, node, holding)
    if node.status != NodeStatus.LIVE:
        return unheard, node.status
    now = _now()
    node.last_heartbeat = now
    node.lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
    held = (await repository.in_flight(session, [node.id])).get(node.id, 0)
    free = min(max_jobs, node.capacity - held)
    if free <= 0:
        return unheard, node.status
    if node.role == NodeRole.BACKUP:
        primaries = await repository.live_primaries(session, node.site, now)
        loads = await repository.in_flight(session, [p.id for p in primaries])
        if any(loads.get(p.id, 0) < p.capacity for p in primaries):
            return unheard, node.status  # a primary has room: the backup stays idle
    claims: list[Claim] = unheard
    jobs = await repository.queued_jobs(session, node.site, free)
    # All blanks at once: the session does not autoflush, so one-by-one would hand out one serial twice.
    blanks = await repository.next_blanks(session, node.site, len(jobs)) if jobs else []
    if len(blanks) < len(jobs):
        await repository.set_wait_reason(session, node.site, NO_STOCK)
    for job, blank in zip(jobs, blanks, strict=False):
        claim_id = uuid.uuid4()
        blank.status = SerialStatus.RESERVED
        blank.job_id = job.id
        blank.claim_id = claim_id
        job.status = JobStatus.CLAIMED
        job.node_id = node.id
        job.claim_id = claim_id
        job.serial = blank.serial
        job.claimed_at = now
        job.wait_reason = None
        job.attempts += 1
        claims.append(await _handed(session, principal, job))
    await session.flush()
    if claims and low_threshold is not None:
        await check_low_stock(session, node.site, low_threshold)
    return claims, node.status


async def _handed(session: AsyncSession, principal: Principal, job: PrintJob) -> Claim:
    """The job with its card's data (name, NIK, address, photo, fingerprints), audited as handed to the agent."""
    rec = await repository.record(session, job.enrollment_id, for_update=False)
    await audit(session, principal, "print.card.claim", "print_job", str(job.id),
                {"enrollment_id": str(job.enrollment_id), "node_id": str(job.node_id), "serial": job.serial})
    return Claim(job=job, card=rec.card if rec and rec.card else {})


async def _unheard_claims(session: AsyncSession, principal: Principal, node: PrintNode,
                          holding: Collection[uuid.UUID] | None) -> list[Claim]:
    """The node's claims that its agent does not hold: their answer never reached it (a link that
    dropped, a gateway's timeout, the service killed between its commit and its answer). Nothing
    gave them back (the node is alive), so their cards waited for ever and filled the agent's
    capacity. They are handed out again as they are (same claim, same blank): the agent never
    started those cards. `holding` None (an agent that does not say): none."""
    if holding is None:
        return []
    held = set(holding)
    return [await _handed(session, principal, job) for job in await repository.claimed_by(session, node.id, lock=False)
            if job.claim_id not in held]


async def report(session: AsyncSession, principal: Principal, job_id: uuid.UUID, *, claim_id: uuid.UUID,
                 outcome: str, reason: str | None, detail: str | None = None) -> tuple[PrintJob, str]:
    """An agent's result. Returns the job and what became of the report: `printed`, `spoiled`,
    `unprintable`, or `void` for a late report of a claim already taken back (its card is void)."""
    printed = outcome == "printed"
    job = await repository.job(session, job_id, for_update=True)
    if job is None:
        raise NotFound(f"print job {job_id} not found")
    principal.require_site(job.site)
    blank = await repository.blank_by_claim(session, claim_id)
    if blank is None:
        raise NotFound(f"claim {claim_id} not found for job {job_id}")
    now = _now()
    if blank.status == SerialStatus.USED and printed and job.claim_id == claim_id:
        return job, "printed"  # the same report again (a retry after a lost answer)
    if blank.status == SerialStatus.SPOILED and not printed and blank.reason == (reason or "spoiled"):
        return job, "spoiled"  # the same report again
    if job.claim_id != claim_id or job.status != JobStatus.CLAIMED:
        # The claim was taken back (agent lost); its blank is already counted as spoiled.
        blank.reason = (f"{blank.reason}; late report: " + ("printed — void this card" if printed else (reason or "spoiled")))[:200]
        await session.flush()
        return job, "void"
    if outcome == "unprintable":
        blank.status = SerialStatus.AVAILABLE
        blank.job_id = blank.claim_id = None
        job.status = JobStatus.HELD
        job.wait_reason = f"tidak dapat dicetak / cannot be printed: {detail or 'data does not fit the card'}"[:200]
        job.node_id = job.claim_id = job.serial = None
        # The resident's timeline says the card is held, not still queued. Only the code: the agent's
        # detail quotes the data (the full name) and the public status shows the event's reason.
        await add_event(session, messaging, new_event("print.job_held", {
            "job_id": str(job.id), "enrollment_id": str(job.enrollment_id), "site": job.site,
            "reason": "unprintable"}, key=str(job.enrollment_id)))
        await session.flush()
        return job, "unprintable"
    node = await repository.node(session, job.node_id, for_update=True) if job.node_id else None
    if printed:
        blank.status = SerialStatus.USED
        blank.used_at = now
        job.status = JobStatus.PRINTED
        job.printed_at = now
        if node is not None:
            node.cards_printed += 1
        await session.flush()
        await add_event(session, messaging, new_event("print.card_printed", {
            "job_id": str(job.id), "enrollment_id": str(job.enrollment_id), "site": job.site, "serial": job.serial,
            "node_id": str(job.node_id)}, key=str(job.enrollment_id)))
        rec = await repository.record(session, job.enrollment_id, for_update=False)
        if rec is not None and rec.outcome == REPLACED:  # replaced while it was being printed
            await _void_replaced(session, rec, job)
        return job, "printed"
    blank.status = SerialStatus.SPOILED
    blank.reason = reason or "spoiled"
    blank.used_at = now
    await _card_spoiled(session, job, job.serial, blank.reason)
    await _requeue(session, job)
    await session.flush()
    return job, "spoiled"


async def hand_over(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> PrintJob:
    """The resident collected the card: at the site that printed it, or at their pickup site (a
    kecamatan whose cards the dinas printed while its queue was redirected)."""
    job = await repository.job(session, job_id, for_update=True)
    if job is None:
        raise NotFound(f"print job {job_id} not found")
    record = await repository.record(session, job.enrollment_id, for_update=False)
    if not (record is not None and record.pickup_site and principal.may_act_for(record.pickup_site)):
        principal.require_site(job.site)
    if job.status == JobStatus.ISSUED:
        return job
    if job.status != JobStatus.PRINTED:
        raise Conflict(f"job {job_id} is {job.status}; only a PRINTED card can be handed over", code="not_printed")
    job.status = JobStatus.ISSUED
    job.issued_at = _now()
    job.issued_by = principal.actor
    await session.flush()
    await audit(session, principal, "print.card.hand_over", "print_job", str(job.id),
                {"enrollment_id": str(job.enrollment_id), "serial": job.serial})
    await add_event(session, messaging, new_event("print.card_issued", {
        "job_id": str(job.id), "enrollment_id": str(job.enrollment_id), "site": job.site, "serial": job.serial},
        key=str(job.enrollment_id)))
    return job


# ---- stock -----------------------------------------------------------------------------------

def serial_range(first: str, count: int) -> list[str]:
    width = len(first)
    start = int(first)
    last = start + count - 1
    if len(str(last)) > width:
        raise InvalidInput("serial range overflows its width", code="bad_serial_range")
    return [str(n).zfill(width) for n in range(start, last + 1)]


async def receive_stock(session: AsyncSession, principal: Principal, site: str, body: StockIn,
                        low_threshold: int | None = None, *, sites: Sequence[str]) -> int:
    """Blanks first_serial.. (count) arrive at `site`, a site of the dinas (`sites`)."""
    require_known(sites, ("path.site", site))
    if not principal.city_wide and principal.site != site:
        raise Forbidden(f"credential of site {principal.site} may not receive stock for {site}", code="wrong_site")
    serials = serial_range(body.first_serial, body.count)
    clash = await repository.existing_serials(session, serials)
    if clash:
        raise Conflict(f"{len(clash)} serials already in stock, e.g. {sorted(clash)[0]}", code="serials_exist")
    now = _now()
    session.add_all(BlankCard(serial=s, site=site, status=SerialStatus.AVAILABLE, received_at=now) for s in serials)
    await repository.set_wait_reason(session, site, None)
    await session.flush()
    await audit(session, principal, "print.stock.receive", "site", site,
                {"first_serial": serials[0], "last_serial": serials[-1], "count": len(serials)})
    if low_threshold is not None:
        await check_low_stock(session, site, low_threshold)
    return len(serials)


async def transfer_stock(session: AsyncSession, principal: Principal, site: str, body: TransferIn,
                         low_threshold: int, *, sites: Sequence[str]) -> tuple[int, int]:
    """Blanks first_serial.. (count) move from `site` to `body.to_site`; only AVAILABLE ones of
    `site` move (reserved, used, spoiled or another site's stay where they are). Returns (moved,
    left: serials of the range that did not move). They go only to a site of the dinas (`sites`); any
    site's may leave (blanks once received for a site that is not one)."""
    require_known(sites, ("to_site", body.to_site))
    if not principal.may_act_for(site):
        raise Forbidden(f"credential of site {principal.site} may not transfer stock of {site}", code="wrong_site")
    if body.to_site == site:
        raise InvalidInput("stock cannot be transferred to the same site", code="transfer_to_self")
    serials = serial_range(body.first_serial, body.count)
    moved = await repository.move_blanks(session, site, body.to_site, serials[0], serials[-1])
    if moved == 0:
        raise Conflict(f"no AVAILABLE blank of site {site} in {serials[0]}..{serials[-1]}", code="nothing_to_transfer")
    await repository.set_wait_reason(session, body.to_site, None)
    await session.flush()
    await audit(session, principal, "print.stock.transfer", "site", site,
                {"to_site": body.to_site, "first_serial": serials[0], "last_serial": serials[-1],
                 "count": len(serials), "moved": moved})
    for s in (site, body.to_site):
        await check_low_stock(session, s, low_threshold)
    return moved, len(serials) - moved


async def set_low_threshold(session: AsyncSession, principal: Principal, site: str, threshold: int | None,
                            default: int, *, sites: Sequence[str]) -> SiteStock:
    """A site's own low-stock threshold (None: back to the default setting); a site of the dinas."""
    require_known(sites, ("path.site", site))
    principal.require_site(site)
    state = await repository.ensure_site_stock(session, site)
    state.low_threshold = threshold
    await session.flush()
    await audit(session, principal, "print.stock.threshold", "site", site, {"threshold": threshold})
    await check_low_stock(session, site, default)
    return state


async def check_low_stock(session: AsyncSession, site: str, default: int) -> None:
    """Raise `print.stock_low` once when the site's available blanks fall to its threshold; the
    flag clears when stock rises above it again (so the next crossing raises it again). Cheap on
    the claim path: the count stops at threshold + 1 and the site row is locked only to flip."""
    state = await repository.site_stock(session, site)
    threshold = threshold_of(state, default)
    available = await repository.available_up_to(session, site, threshold + 1)
    low = available <= threshold
    if state is not None and state.low == low:
        return
    if state is None and not low:
        return
    state = await repository.ensure_site_stock(session, site)
    if state.low == low:
        return  # another transaction flipped it first
    state.low = low
    state.low_since = _now() if low else None
    await session.flush()
    if low:
        await add_event(session, messaging, new_event(
            "print.stock_low", {"site": site, "available": available, "threshold": threshold}, key=f"stock:{site}"))


def threshold_of(state: SiteStock | None, default: int) -> int:
    """A site's low-stock threshold: its own if set (PUT .../stock/threshold), else `default`
    (EKTP_PRINT_LOW_STOCK_THRESHOLD)."""
    return state.low_threshold if state is not None and state.low_threshold is not None else default


async def stock_views(session: AsyncSession, site: str | None, default: int, *,
                      among: Sequence[str] | None = None) -> list[StockView]:
    """Stock of one site (always one view, zeros if it has none) or of every site with stock (of
    `among`, if given); `default`: the low-stock threshold of a site without its own."""
    counts = await repository.stock_counts(session, (site,) if site is not None else among)
    if site is not None:
        counts.setdefault(site, {})
    states = await repository.site_stocks(session)
    views = []
    for s, c in sorted(counts.items()):
        threshold = threshold_of(states.get(s), default)
        views.append(StockView(site=s, available=c.get("AVAILABLE", 0), reserved=c.get("RESERVED", 0),
                               used=c.get("USED", 0), spoiled=c.get("SPOILED", 0), threshold=threshold,
                               low=c.get("AVAILABLE", 0) <= threshold))
    return views


def stock_scope(principal: Principal, site: str | None, sites: Sequence[str]) -> tuple[str, ...] | None:
    """The sites whose blank stock `principal` may read (None: every site with stock), asked for
    `site` or not: a city-wide credential every site; the dinas's print room (a print_operator of
    the dinas's site, `sites[0]`) every site of the dinas, since it transfers blanks to any of them;
    any other credential its own site. A site it may not read is 403 `wrong_site`."""
    if principal.city_wide:
        return None if site is None else (site,)
    if principal.role == Role.PRINT_OPERATOR and principal.site == sites[0]:
        if site is None:
            return tuple(sites)
        if site not in sites:
            raise Forbidden(f"the dinas's print room reads the stock of the dinas's sites only, not of {site}",
                            code="wrong_site")
        return (site,)
    return (principal.scope(site) or principal.site,)


@dataclass
class QueueStatus:
    site: str
    waiting: int
    reason: str | None


async def queue_status(session: AsyncSession, principal: Principal, site: str) -> QueueStatus:
    """How many jobs wait at a site and why (for operators and autoscalers)."""
    principal.require_site(site)
    waiting = await repository.waiting_count(session, site)
    reason: str | None = None
    if waiting:
        if await repository.available_up_to(session, site, 1) == 0:
            reason = NO_STOCK
        elif not await repository.live_nodes(session, site, _now()):
            reason = NO_NODE
        else:
            reason = BUSY
    return QueueStatus(site=site, waiting=waiting, reason=reason)


# ---- reprint ---------------------------------------------------------------------------------

async def reprint(session: AsyncSession, principal: Principal, job_id: uuid.UUID, reason: str) -> tuple[PrintJob, PrintJob]:
    """An operator voids a printed card and queues a new job for the same enrollment. The old
    card's serial stays USED with the reason noted; each job keeps exactly one PRINTED card."""
    job = await repository.job(session, job_id, for_update=True)
    if job is None:
        raise NotFound(f"print job {job_id} not found")
    principal.require_site(job.site)
    if job.status != JobStatus.PRINTED:
        raise Conflict(f"job {job_id} is {job.status}; only a PRINTED card (not yet handed over) can be reprinted",
                       code="not_printed")
    job.reprint_reason = reason
    await _void(session, job, reason, blank_note=f"reprinted by {principal.actor}: {reason}")
    new = PrintJob(id=uuid.uuid4(), enrollment_id=job.enrollment_id, site=job.site, status=JobStatus.QUEUED,
                   created_at=_now(), attempts=0, reprint_of=job.id, reprint_reason=reason)
    session.add(new)
    await session.flush()
    await audit(session, principal, "print.card.reprint", "print_job", str(job.id),
                {"enrollment_id": str(job.enrollment_id), "void_serial": job.serial, "reason": reason,
                 "new_job_id": str(new.id)})
    key = str(job.enrollment_id)
    await add_event(session, messaging, new_event("print.job_queued", {
        "job_id": str(new.id), "enrollment_id": key, "site": new.site, "reprint_of": str(job.id)}, key=key))
    return job, new


# ---- routing a site's cards elsewhere --------------------------------------------------------

async def redirect_site(session: AsyncSession, principal: Principal, site: str, to_site: str, reason: str, *,
                        sites: Sequence[str]) -> int:
    """Print `site`'s cards at `to_site` from now on, and move its waiting jobs there. Both are
    sites of the dinas (`sites`), and `to_site`'s printing may not lead back to `site`."""
    if site == to_site:
        raise InvalidInput("a site cannot be redirected to itself", code="redirect_to_self")
    require_known(sites, ("path.site", site), ("to_site", to_site))
    await repository.lock_routes(session)
    routes = await repository.routes(session)
    loop = _loop_through(routes, site, to_site)
    if loop:
        chain = " → ".join(loop)
        raise Conflict(f"pengalihan melingkar / redirect loop: {chain}", code="redirect_loop", fields=[FieldProblem(
            field="to_site", code="redirect.loop",
            message_id=f"Pengalihan melingkar ({chain}): pengalihan yang ada dari {to_site} kembali ke {site}. "
                       f"Batalkan salah satunya lebih dulu.",
            message_en=f"Redirect loop ({chain}): the redirects already set from {to_site} lead back to {site}. "
                       f"Cancel one of them first.")])
    before = print_sites(routes)
    current = await repository.route(session, site, for_update=True)
    if current is None:
        current = SiteRoute(site=site, print_site=to_site, reason=reason, set_by=principal.actor, set_at=_now())
        session.add(current)
    else:
        current.print_site, current.reason, current.set_by, current.set_at = to_site, reason, principal.actor, _now()
    await session.flush()
    moved = await _follow_redirects(session, before)
    await audit(session, principal, "print.site.redirect", "site", site, {"to": to_site, "reason": reason, "moved": moved})
    return moved


def print_sites(routes: Sequence[SiteRoute]) -> dict[str, str]:
    """Where each redirected site's cards are printed: its redirect followed to the end (53.71.01 →
    53.71.02 while 53.71.02 → 53.71: at 53.71, since 53.71.02 is down too). Loops are refused when
    a redirect is set; one found anyway ends where it would come round."""
    hop = {r.site: r.print_site for r in routes}
    out = {}
    for site, at in hop.items():
        seen = {site}
        while at in hop and hop[at] not in seen | {at}:
            seen.add(at)
            at = hop[at]
        out[site] = at
    return out


async def _follow_redirects(session: AsyncSession, before: dict[str, str]) -> int:
    """After a redirect was set or cleared: the waiting jobs of every site whose print site changed
    (the site itself, and the sites redirected to it) go to the new one."""
    after = print_sites(await repository.routes(session))
    moved = 0
    for site in sorted(before.keys() | after.keys()):
        if before.get(site, site) != after.get(site, site):
            moved += await repository.move_waiting(session, site, after.get(site, site))
    return moved


def _loop_through(routes: Sequence[SiteRoute], site: str, to_site: str) -> list[str] | None:
    """The sites a redirect of `site` to `to_site` would lead round back to `site` (through the
    redirects set), or None if it would not make a loop."""
    print_site = {r.site: r.print_site for r in routes}
    chain = [site, to_site]
    while chain[-1] in print_site and chain[-1] != site:
        following = print_site[chain[-1]]
        if following in chain[1:]:
            return None  # an older loop that does not pass through `site`
        chain.append(following)
    return chain if chain[-1] == site else None


async def clear_redirect(session: AsyncSession, principal: Principal, site: str) -> int:
    """Print `site`'s cards at the site again; its jobs waiting elsewhere come back (and those of
    the sites redirected to it)."""
    await repository.lock_routes(session)
    current = await repository.route(session, site, for_update=True)
    if current is None:
        raise NotFound(f"site {site} is not redirected")
    before = print_sites(await repository.routes(session))
    await session.delete(current)
    await session.flush()
    moved = await _follow_redirects(session, before)
    await audit(session, principal, "print.site.redirect_cleared", "site", site, {"moved": moved})
    return moved
