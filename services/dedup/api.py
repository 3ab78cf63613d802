"""HTTP routes of the dedup service."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.dedup import repository, service
from services.dedup.abis import urls
from services.dedup.schemas import (
    BacklogView, CaseDetail, CasePage, CaseView, CorrectionIn, DecisionIn, EngineView, PauseIn, PositionView,
    SiteBacklog,
)
from shared.auth.audit import audit
from shared.auth.principal import Principal, Role
from shared.deps import ReadSessionDep, SessionDep, SettingsDep, require, service_context
from shared.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from shared.params import Offset, SiteQuery
from shared.runtime import ServiceContext
from shared.routing import ApiRoute

router = APIRouter(prefix="/v1/dedup", tags=["dedup"], route_class=ApiRoute)

Context = Annotated[ServiceContext, Depends(service_context("dedup"))]
Viewer = Annotated[Principal, Depends(require(Role.DINAS_OPERATOR, Role.ADJUDICATOR, Role.KECAMATAN_OPERATOR))]
Controller = Annotated[Principal, Depends(require(Role.ADJUDICATOR))]
Adjudicator = Annotated[Principal, Depends(require(Role.ADJUDICATOR))]


def _engine_view(state, ctx: ServiceContext) -> EngineView:  # type: ignore[no-untyped-def]
    matcher = ctx.state["matcher"]
    return EngineView(paused=state.paused, reason=state.reason, automatic=state.automatic,
                      changed_by=state.changed_by, changed_at=state.changed_at, matcher=matcher.name,
                      gallery_size=matcher.gallery_size if ctx.state.get("engine_leader") else None,
                      target_fpir=matcher.config.target_fpir, auto_threshold=matcher.thresholds.auto,
                      grey_threshold=matcher.thresholds.grey)


@router.get("/engine", response_model=EngineView, summary="The engine's state")
async def get_engine(session: ReadSessionDep, ctx: Context, _: Viewer) -> EngineView:
    state = await repository.engine_state(session, create=False)
    return _engine_view(state, ctx)


@router.post("/engine/pause", response_model=EngineView, summary="Pause de-duplication (nothing is lost)")
async def pause(body: PauseIn, session: SessionDep, ctx: Context, principal: Controller) -> EngineView:
    state = await service.set_paused(session, paused=True, reason=body.reason, actor=principal.actor)
    await audit(session, principal, "dedup.engine.pause", "engine", "1", {"reason": body.reason})
    await session.commit()
    ctx.events_written()
    return _engine_view(state, ctx)


@router.post("/engine/resume", response_model=EngineView, summary="Resume; the backlog drains oldest first")
async def resume(session: SessionDep, ctx: Context, principal: Controller) -> EngineView:
    state = await service.set_paused(session, paused=False, reason=None, actor=principal.actor)
    await audit(session, principal, "dedup.engine.resume", "engine", "1")
    await session.commit()
    ctx.events_written()
    return _engine_view(state, ctx)


@router.get("/backlog", response_model=BacklogView, summary="Recordings waiting for de-duplication")
async def backlog(session: ReadSessionDep, _: Viewer) -> BacklogView:
    waiting, oldest, per_site = await repository.backlog(session)
    sites = await repository.backlog_sites(session)
    outcomes = await repository.outcome_counts(session)
    state = await repository.engine_state(session, create=False)
    now = dt.datetime.now(dt.UTC)
    wait = (now - oldest).total_seconds() if oldest else None
    return BacklogView(
        waiting=waiting, oldest_received_at=oldest, oldest_wait_seconds=wait, per_site=per_site,
        sites=[SiteBacklog(site=site, waiting=n, oldest_received_at=first,
                           oldest_wait_seconds=(now - first).total_seconds()) for site, n, first in sites],
        outcomes=outcomes, paused=state.paused, reason=state.reason, automatic=state.automatic,
    )


@router.get("/backlog/position/{enrollment_id}", response_model=PositionView,
            summary="Where one recording waits in the backlog (or how it was decided)")
async def backlog_position(enrollment_id: uuid.UUID, session: ReadSessionDep, principal: Viewer) -> PositionView:
    view = await service.position(session, principal, enrollment_id)
    return PositionView(**view)


@router.get("/biometrics/{reference_id}", summary="Templates for an external ABIS (signed, short-lived URL)",
            description="No bearer credential: the URL's HMAC signature and expiry are the authorisation. "
                        "Only the templates are served, never the photo or signature.")
async def abis_biometrics(reference_id: uuid.UUID, exp: int, sig: str, session: SessionDep,
                          settings: SettingsDep, http: Request) -> dict:
    why = urls.verify(settings, str(reference_id), exp, sig)
    if why == "expired":
        raise Forbidden("this biometrics URL has expired", code="url_expired")
    if why:
        raise Forbidden("bad signature", code="bad_signature")
    request = await repository.request_by_enrollment(session, reference_id)
    if request is None:
        raise NotFound(f"reference {reference_id} not found")
    # No credential names the caller: the audit log names the ABIS and where the request came from.
    abis = Principal(id="system", name="external ABIS (signed URL)", role=Role.ADMIN, site=settings.dinas_code)
    await audit(session, abis, "dedup.biometrics.read", "enrollment", str(reference_id),
                {"expires": exp, "client": http.client.host if http.client else None})
    await session.commit()
    return urls.templates_only(request.biometrics)



def _case_view(case) -> CaseView:  # type: ignore[no-untyped-def]
    view = CaseView.model_validate(case, from_attributes=True)
    if not service.hold_running(case, dt.datetime.now(dt.UTC)):
        view.held_by = view.held_until = None  # the hold ran out: the case is free again
    return view


async def _case_detail(session, case) -> CaseDetail:  # type: ignore[no-untyped-def]
    sides = await service.case_detail(session, case)
    return CaseDetail(**_case_view(case).model_dump(), **sides)


@router.get("/cases", response_model=CasePage, summary="Adjudication cases")
async def list_cases(
    session: SessionDep,
    principal: Adjudicator,
    status: Annotated[str | None, Query(pattern="^(OPEN|DECIDED)$")] = "OPEN",
    site: SiteQuery = None,
    reason: Annotated[str | None, Query(max_length=80, description="Part of the reason, e.g. grey_zone")] = None,
    opened_from: Annotated[dt.date | None, Query(description="Opened on or after this day (UTC)")] = None,
    opened_to: Annotated[dt.date | None, Query(description="Opened on or before this day (UTC)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> CasePage:
    if opened_from and opened_to and opened_from > opened_to:
        raise InvalidInput("opened_to is before opened_from", fields=[FieldProblem(
            "query.opened_to", "field.out_of_range", f"opened_to ({opened_to}) sebelum opened_from ({opened_from})",
            f"opened_to ({opened_to}) is before opened_from ({opened_from})")])
    rows, total = await repository.cases(session, status=status, site=site, reason=reason, limit=limit,
                                         offset=offset, opened_from=opened_from, opened_to=opened_to)
    # The NIKs of each case's recording and candidates are listed: which ones is kept, as for a case opened.
    shown = {str(r.enrollment_id): None for r in rows} | {str(c["enrollment_id"]): None for r in rows
                                                         for c in r.candidates}
    await audit(session, principal, "dedup.cases.list", "cases", status or "all",
                {"count": len(rows), "ids": [str(r.id) for r in rows], "enrollment_ids": list(shown)})
    await session.commit()
    return CasePage(items=[_case_view(r) for r in rows], total=total,
                    limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseDetail,
            summary="One adjudication case: the recording and each candidate side by side (audited)")
async def get_case(case_id: uuid.UUID, session: SessionDep, principal: Adjudicator) -> CaseDetail:
    case = await repository.case(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    detail = await _case_detail(session, case)
    await audit(session, principal, "dedup.case.read", "case", str(case.id),
                {"enrollment_ids": [str(case.enrollment_id), *(str(m.enrollment_id) for m in detail.matches)]})
    await session.commit()
    return detail


def _hold(settings) -> dt.timedelta:  # type: ignore[no-untyped-def]
    return dt.timedelta(minutes=settings.dedup_case_hold_minutes)


@router.post("/cases/next", response_model=CaseDetail, summary="Take the next case to decide (audited)",
             responses={204: {"description": "No open case is free (every one is decided or held by another)"}},
             description="Holds it for the caller (EKTP_DEDUP_CASE_HOLD_MINUTES): a case the caller already holds, "
                         "else the oldest case nobody holds. Two adjudicators asking at once get different cases.")
async def take_next_case(session: SessionDep, settings: SettingsDep, principal: Adjudicator, site: SiteQuery = None,
                         reason: Annotated[str | None, Query(max_length=80, description="Part of the reason")] = None,
                         ) -> CaseDetail | Response:
    case = await service.take_next_case(session, principal, hold=_hold(settings), site=site, reason=reason)
    if case is None:
        await session.commit()
        return Response(status_code=204)
    detail = await _case_detail(session, case)
    await session.commit()
    return detail


@router.post("/cases/{case_id}/take", response_model=CaseDetail, summary="Take one case to decide (audited)",
             description="Holds it for the caller, or renews the caller's hold; 409 case_held names the adjudicator "
                         "holding it and until when, 409 case_decided who decided it and when.")
async def take_case(case_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
                    principal: Adjudicator) -> CaseDetail:
    case = await service.take_case(session, principal, case_id, hold=_hold(settings))
    detail = await _case_detail(session, case)
    await session.commit()
    return detail


@router.post("/cases/{case_id}/release", response_model=CaseView, summary="Give a taken case back undecided (audited)")
async def release_case(case_id: uuid.UUID, session: SessionDep, principal: Adjudicator) -> CaseView:
    case = await service.release_case(session, principal, case_id)
    await session.commit()
    return _case_view(case)


@router.post("/cases/{case_id}/decision", response_model=CaseView, summary="Decide a case (audited)")
async def decide_case(case_id: uuid.UUID, body: DecisionIn, session: SessionDep, ctx: Context,
                      principal: Adjudicator) -> CaseView:
    case = await service.decide_case(session, principal, case_id, same_person=body.decision == "same_person",
                                     note=body.note, candidate=body.candidate)
    await session.commit()
    ctx.events_written()
    return _case_view(case)


@router.post("/cases/{case_id}/correct", response_model=CaseView,
             summary="Correct a 'same person' decision to 'different persons' (audited)",
             description="The recording becomes unique (gallery, PRINT_READY, its card printed). Needs a reason. "
                         "409 case_open (not decided yet), case_not_same_person (decided different persons: "
                         "not correctable here), case_corrected (corrected already).")
async def correct_case(case_id: uuid.UUID, body: CorrectionIn, session: SessionDep, ctx: Context,
                       principal: Adjudicator) -> CaseView:
    case = await service.correct_case(session, principal, case_id, reason=body.reason)
    await session.commit()
    ctx.events_written()
    return _case_view(case)
