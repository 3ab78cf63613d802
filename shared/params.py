"""Query and path parameters that several services take, and the operator's written reason, bounded once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import StringConstraints

SITE_PATTERN = r"^\d{2}\.\d{2}(\.\d{2})?$"

SiteQuery = Annotated[str | None, Query(pattern=SITE_PATTERN, description="Site code, e.g. 53.71.04")]
SitePath = Annotated[str, Path(pattern=SITE_PATTERN, description="Site code, e.g. 53.71.04")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]

# What an operator writes to say why (a pause, a redirect, a reprint, a revocation, a decision's
# note): surrounding blanks dropped, at least 3 characters left (a route bounds its length); one of
# blanks only is refused as `field.blank`, not kept as a reason no one can read.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3)]
