"""Query and path parameters that several services take, bounded once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

SITE_PATTERN = r"^\d{2}\.\d{2}(\.\d{2})?$"

SiteQuery = Annotated[str | None, Query(pattern=SITE_PATTERN, description="Site code, e.g. 53.71.04")]
SitePath = Annotated[str, Path(pattern=SITE_PATTERN, description="Site code, e.g. 53.71.04")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
