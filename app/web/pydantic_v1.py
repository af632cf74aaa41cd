"""Seam "no pydantic.v1 check without pydantic.v1" (issue 14; docs/decisions.md#cold-start).

FastAPI 0.163 refuses pydantic.v1 models: analysing a route with a response
model, a body or a class-typed parameter, it asks `is_pydantic_v1_model_class`
(fastapi/_compat/shared.py), which imports `pydantic.v1`, pydantic's bundled
copy of version 1, to compare against its `BaseModel`. Nothing of ours or of
our dependencies uses pydantic.v1, so that import (~25 ms of CPU; 2.8% of a
restart's instructions, bench/cold_start_instructions.py) was paid by the first route
analysed (the health check at start) for nothing, while a bare FastAPI app
whose route returns an unannotated dict never pays it.

No class can derive from pydantic.v1's `BaseModel` while `pydantic.v1` is not
imported, so the answer is "no" without importing it; once anything has
imported `pydantic.v1`, FastAPI's own check runs, and a pydantic.v1 model is
refused as before (tests/web/test_pydantic_v1.py). tests/web/test_cold_start.py
checks that a start, a page, the API and the OpenAPI document leave
`pydantic.v1` unimported.
"""

from __future__ import annotations

import sys
from typing import Any

from fastapi._compat import shared

_fastapi_check = shared.is_pydantic_v1_model_class


def is_pydantic_v1_model_class(cls: Any) -> bool:
    return "pydantic.v1" in sys.modules and _fastapi_check(cls)


def install() -> None:
    """Answer FastAPI's question without the import (idempotent; before any route is analysed)."""
    shared.is_pydantic_v1_model_class = is_pydantic_v1_model_class
