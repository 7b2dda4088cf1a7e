"""Bearer-token authentication of POS terminals (every /v1 call)."""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from edge.terminals.store import TerminalAuthenticator


class TerminalTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("missing terminal token: send 'Authorization: Bearer …'")
        authenticator: TerminalAuthenticator = connection.app.state.terminal_authenticator
        terminal_id = await authenticator.authenticate(
            token.strip(), now_monotonic=time.monotonic()
        )
        if terminal_id is None:
            raise NotAuthorizedException("unknown or revoked terminal token")
        return AuthenticationResult(user=terminal_id, auth=token)
