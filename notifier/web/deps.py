"""Request dependencies: the runtime, a database session, the merchant behind a bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from notifier.runtime import Runtime
from notifier.store import merchants
from notifier.store.models import Merchant

_bearer = HTTPBearer(auto_error=False, description="The merchant's API token")
# The largest id or offset a database takes (SQLite INTEGER, PostgreSQL BIGINT): a bigger
# number in a URL is a 422, not a driver OverflowError (a 500).
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_merchant(
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Merchant:
    """The merchant whose token is presented; 401 otherwise (same answer for any bad token)."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    merchant = merchants.by_token(session, creds.credentials)
    if merchant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
    return merchant


MerchantDep = Annotated[Merchant, Depends(current_merchant)]
