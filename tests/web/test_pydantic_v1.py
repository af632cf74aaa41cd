"""The "no pydantic.v1 check without pydantic.v1" seam (app/web/pydantic_v1.py; docs/decisions.md#cold-start).

That a start, pages, the API and its schema never import pydantic.v1 is in
tests/web/test_cold_start.py.
"""

from __future__ import annotations

import warnings

import pytest
from fastapi import FastAPI
from fastapi._compat import shared
from fastapi.exceptions import PydanticV1NotSupportedError

from app.web import pydantic_v1


def test_a_pydantic_v1_model_is_still_refused_once_pydantic_v1_is_imported() -> None:
    pydantic_v1.install()
    assert shared.is_pydantic_v1_model_class is pydantic_v1.is_pydantic_v1_model_class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1

    class Old(v1.BaseModel):
        name: str

    assert pydantic_v1.is_pydantic_v1_model_class(Old)
    app = FastAPI()
    with pytest.raises(PydanticV1NotSupportedError):

        @app.get("/old", response_model=Old)
        async def old() -> None: ...
