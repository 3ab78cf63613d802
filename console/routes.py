"""The console's routes: pages (server-rendered shells whose script calls /v1 with the user's
credential), its static files, who-am-I for the logged-in page, and the QR upload of the public
verification page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from console import i18n, roles
from shared.certificate.offline import TokenError, extract_token
from shared.deps import PrincipalDep
from shared.errors import NotFound

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Page:
    name: str
    public: bool = False


PAGES = {p.name: p for p in (
    Page("status", public=True), Page("verify", public=True), Page("login", public=True),
    Page("dashboard"), Page("print"), Page("enrollments"), Page("adjudication"), Page("certificates"),
)}

# Routes added to the services after the first contract; a page uses them when this app has them
# and falls back to the first contract's routes when not.
OPTIONAL_ROUTES = {
    "enrollment_stats": ("GET", "/v1/enrollments/stats"),
    "certificate_list": ("GET", "/v1/certificates"),
    "certificate_stats": ("GET", "/v1/certificates/stats"),
    "site_queue": ("GET", "/v1/print/sites/{site}/queue"),
    "reprint": ("POST", "/v1/print/jobs/{job_id}/reprint"),
}


def features(request: Request) -> dict[str, bool]:
    """Which optional routes this app serves (its OpenAPI document is built once and cached)."""
    paths = request.app.openapi().get("paths", {})
    return {name: method.lower() in paths.get(path, {}) for name, (method, path) in OPTIONAL_ROUTES.items()}


def render(request: Request, page: str, *, status_code: int = 200, **context: object) -> Response:
    lang, just_chosen = i18n.chosen(request)
    public = PAGES[page].public if page in PAGES else True  # the page of an unknown address is public
    config = {"page": page, "public": public, "lang": lang, "messages": i18n.MESSAGES[lang],
              "can": roles.capabilities(), "pages": roles.PAGE_ACTIONS, "features": features(request), **context}
    response = templates.TemplateResponse(request, f"{page}.html", {
        "page": page, "public": public, "lang": lang, "t": i18n.translator(lang), "languages": list(i18n.MESSAGES),
        "config_json": json.dumps(config, ensure_ascii=False).replace("</", "<\\/"), **context,
    }, status_code=status_code)
    if just_chosen:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def not_found(request: Request) -> Response:
    """A console address that is no page: a page in the console's style and language that says so
    and leads back (the API's own addresses keep their JSON errors)."""
    return render(request, "not_found", status_code=404)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console/status", status_code=307)


@router.get("/console")
@router.get("/console/")
async def console_home() -> RedirectResponse:
    return RedirectResponse("/console/dashboard", status_code=307)


@router.get("/console/session")
async def session(principal: PrincipalDep) -> dict:
    """Who the credential belongs to and which console pages its role opens."""
    role = principal.role.value
    return {"name": principal.name, "role": role, "site": principal.site, "city_wide": principal.city_wide,
            "pages": [p for p, action in roles.PAGE_ACTIONS.items() if roles.allowed(role, action)]}


@router.get("/console/static/{name}")
async def static(name: str) -> FileResponse:
    path = STATIC / name
    if "/" in name or not path.is_file():
        raise NotFound(f"no console file {name}")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


@router.post("/console/verify")
async def verify_upload(request: Request, file: Annotated[UploadFile, File()]) -> Response:
    """Reads the QR code of an uploaded photo, scan or PDF and hands its token back to the page,
    which verifies it through GET /v1/verify/{token} like a pasted code."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return render(request, "verify", upload_error="too_large")
    try:
        token = await run_in_threadpool(extract_token, data)
    except TokenError:
        return render(request, "verify", upload_error="unreadable")
    return render(request, "verify", token=token)


@router.get("/console/{page}")
async def page(request: Request, page: str) -> Response:
    return render(request, page) if page in PAGES else not_found(request)


@router.get("/console/{rest:path}")
async def unknown(request: Request, rest: str) -> Response:
    return not_found(request)
