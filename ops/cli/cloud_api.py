"""How CLI commands reach the cloud API: the URL and token options, and one GET/POST helper
that turns transport failures and problem details into clear click errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def cloud_options(command: F) -> F:
    """Add --cloud-url and --token (with their environment variables) to a command."""
    command = click.option(
        "--token",
        envvar="JXC_CLOUD_API_TOKEN",
        help="Cloud API token (default: JXC_CLOUD_API_TOKEN, else JXC_HOME/cloud/api-token).",
    )(command)
    return click.option(
        "--cloud-url",
        envvar="JXC_CLOUD_URL",
        default="http://127.0.0.1:8200",
        show_default=True,
        help="The cloud API (jxc cloud serve).",
    )(command)


def resolve_token(token: str | None) -> str:
    if token:
        return token
    token_file = Path(os.environ.get("JXC_HOME", ".jxc")) / "cloud" / "api-token"
    if not token_file.exists():
        raise click.UsageError("no API token: pass --token or set JXC_CLOUD_API_TOKEN")
    return token_file.read_text().strip()


def call_cloud(
    cloud_url: str,
    token: str | None,
    path: str,
    *,
    method: str = "GET",
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    timeout_s: float = 30.0,
) -> Any:
    """The response of one API call (httpx.Response); raises ClickException on any failure,
    with the problem's detail when the cloud sent one."""
    import httpx

    try:
        response = httpx.request(
            method,
            f"{cloud_url.rstrip('/')}{path}",
            headers={"Authorization": f"Bearer {resolve_token(token)}"},
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=json_body,
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cloud API unreachable at {cloud_url}: {exc}") from exc
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise click.ClickException(f"{response.status_code}: {detail}")
    return response
