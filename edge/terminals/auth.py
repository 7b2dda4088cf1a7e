"""Bearer-token authentication of POS terminals (every /v1 call)."""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from edge.terminals.store import TerminalAuthenticator


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, None if it has none."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class TerminalTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection.headers.get("authorization", ""))
        if token is None:
            raise NotAuthorizedException("missing terminal token: send 'Authorization: Bearer …'")
        authenticator: TerminalAuthenticator = connection.app.state.terminal_authenticator
        now = time.monotonic()
        terminal_id = authenticator.cached(token, now_monotonic=now)
        if terminal_id is None:
            terminal_id = await authenticator.authenticate(token, now_monotonic=now)
        if terminal_id is None:
            raise NotAuthorizedException("unknown or revoked terminal token")
        return AuthenticationResult(user=terminal_id, auth=token)
