"""ClickHouse access through clickhouse-connect, off the event loop.

One gateway per process. For the embedded engine (`chdb:///dir`) every call runs on one
dedicated thread: chdb allows one data dir per process and we never want the event loop to
block on a query. For a server URL the same code runs on a small thread pool.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from cloud.errors import ClickHouseUnavailable

T = TypeVar("T")


class ClickHouseGateway:
    def __init__(self, url: str) -> None:
        self.url = url
        self.embedded = url.startswith("chdb://")
        self._executor = ThreadPoolExecutor(
            max_workers=1 if self.embedded else 4, thread_name_prefix="clickhouse"
        )
        self._local = threading.local()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = clickhouse_connect.get_client(dsn=self.url)
        return client

    async def _call(self, fn: Callable[[Any], T]) -> T:
        loop = asyncio.get_running_loop()

        def run() -> T:
            try:
                return fn(self._client())
            except ClickHouseError as exc:
                raise ClickHouseUnavailable(str(exc)) from exc

        return await loop.run_in_executor(self._executor, run)

    async def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        return await self._call(lambda c: c.command(sql, parameters=parameters))

    async def rows(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await self._call(lambda c: list(c.query(sql, parameters=parameters).result_rows))

    async def insert(
        self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]
    ) -> None:
        await self._call(lambda c: c.insert(table, rows, column_names=list(column_names)))

    async def insert_arrow(self, table: str, arrow_table: Any) -> None:
        """Insert a pyarrow Table: columnar, parsed by ClickHouse in C++, no per-value Python."""
        await self._call(lambda c: c.insert_arrow(table, arrow_table))

    def close(self) -> None:
        def close_client() -> None:
            client = getattr(self._local, "client", None)
            if client is not None:
                client.close()
                self._local.client = None

        if self.embedded:
            self._executor.submit(close_client).result()
        self._executor.shutdown(wait=True)
