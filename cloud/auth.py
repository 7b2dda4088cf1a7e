"""Bearer-token guard for the cloud API (a per-deployment token until user logins land)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult


class ApiTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        expected: str = connection.app.state.api_token
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("missing API token: send 'Authorization: Bearer …'")
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise NotAuthorizedException("invalid API token")
        return AuthenticationResult(user="api", auth=token)
