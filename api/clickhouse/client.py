"""One ClickHouse client for a server (`clickhouse-connect` over HTTP) or the embedded engine
(`chdb`), chosen by CLICKHOUSE_URL: `insert(table, rows)`, `query(sql, params)`, `command(sql)`.

Statements name tables unqualified and bind values server-side (`{name:Type}`), which both
engines do the same way. chdb opens one directory per process: a client for another directory
closes the one before (tests); its calls are serialized (the sink thread and API requests).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from tracker.settings import SettingError

Row = Mapping[str, Any]


class ClickHouseError(RuntimeError):
    """ClickHouse refused a statement or could not be reached."""


class Client(Protocol):
    database: str

    def insert(
        self, table: str, rows: Sequence[Any], columns: Sequence[str] | None = None
    ) -> None: ...

    def insert_tsv(self, table: str, columns: Sequence[str], data: bytes) -> None: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def command(self, sql: str) -> None: ...

    def close(self) -> None: ...


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # naive UTC, as the columns' zone reads it
    if isinstance(value, bool):
        return int(value)
    return value


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _tsv(value: Any) -> str:
    """One TabSeparated field."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_TSV_ESCAPES)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return str(_json_value(value))
    return str(value)


class ChdbClient:
    """The embedded engine in a directory (`chdb:///path`)."""

    def __init__(self, path: str, database: str = "vouch") -> None:
        try:
            from chdb import session as chdb_session
        except ImportError:
            raise SettingError(
                "CLICKHOUSE_URL", f"chdb://{path}", "needs chdb: pip install 'vouch[clickhouse]'"
            ) from None
        self.path = path
        self.database = database
        self._lock = threading.Lock()
        self._session = chdb_session.Session(path)
        self._run(f"CREATE DATABASE IF NOT EXISTS {database}")
        self._session.query(f"USE {database}")

    def _run(self, sql: str, fmt: str = "CSV", params: Mapping[str, Any] | None = None) -> Any:
        with self._lock:
            try:
                if params:
                    return self._session.query(sql, fmt, params=dict(params))
                return self._session.query(sql, fmt)
            except Exception as exc:  # chdb raises its own RuntimeError subclasses
                raise ClickHouseError(str(exc).splitlines()[0]) from exc

    def insert(self, table: str, rows: Sequence[Any], columns: Sequence[str] | None = None) -> None:
        """`rows`: mappings of column to value, or tuples in the order of `columns`. Sent as
        TabSeparated (a third of JSON's encoding time); None is the column's default."""
        if not rows:
            return
        if columns is None:
            columns = list(rows[0])
            rows = [tuple(row[c] for c in columns) for row in rows]
        body = "\n".join("\t".join(map(_tsv, row)) for row in rows)
        self._run(f"INSERT INTO {table} ({', '.join(columns)}) FORMAT TabSeparated\n{body}")

    def insert_tsv(self, table: str, columns: Sequence[str], data: bytes) -> None:
        """Rows already in TabSeparated (PostgreSQL's COPY text, UTF-8)."""
        if data:
            head = f"INSERT INTO {table} ({', '.join(columns)}) FORMAT TabSeparated\n"
            self._run(head + data.decode())

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        params = {k: _json_value(v) for k, v in (params or {}).items()}
        result = self._run(sql, "JSONCompact", params)
        data = result.bytes()
        if not data:
            return []
        return [tuple(row) for row in json.loads(data)["data"]]

    def command(self, sql: str) -> None:
        self._run(sql)

    def close(self) -> None:
        with self._lock:
            self._session.close()


def _aware(value: Any) -> Any:
    """A naive datetime is UTC (the database's): said so for the driver."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ServerClient:
    """A ClickHouse server over HTTP(S) (`clickhouse-connect`)."""

    def __init__(self, url: str) -> None:
        try:
            import clickhouse_connect
        except ImportError:
            raise SettingError(
                "CLICKHOUSE_URL", url, "needs clickhouse-connect: pip install 'vouch[clickhouse]'"
            ) from None
        parts = urlsplit(url)
        self.database = parts.path.strip("/") or "default"
        try:
            self._client = clickhouse_connect.get_client(
                host=parts.hostname,
                port=parts.port or (8443 if parts.scheme == "https" else 8123),
                username=unquote(parts.username or "default"),
                password=unquote(parts.password or ""),
                database=self.database,
                secure=parts.scheme == "https",
                # Answers are small aggregates; a stuck server must not hold the worker long.
                connect_timeout=5,
                send_receive_timeout=30,
            )
        except Exception as exc:
            raise ClickHouseError(str(exc).splitlines()[0]) from exc
        self._lock = threading.Lock()  # one HTTP session: one statement at a time

    def insert(self, table: str, rows: Sequence[Any], columns: Sequence[str] | None = None) -> None:
        if not rows:
            return
        if columns is None:
            columns = list(rows[0])
            rows = [tuple(row[c] for c in columns) for row in rows]
        with self._lock:
            try:
                self._client.insert(
                    table,
                    [[_aware(v) for v in row] for row in rows],
                    column_names=list(columns),
                )
            except Exception as exc:
                raise ClickHouseError(str(exc).splitlines()[0]) from exc

    def insert_tsv(self, table: str, columns: Sequence[str], data: bytes) -> None:
        if not data:
            return
        with self._lock:
            try:
                self._client.raw_insert(table, list(columns), insert_block=data, fmt="TabSeparated")
            except Exception as exc:
                raise ClickHouseError(str(exc).splitlines()[0]) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                result = self._client.query(sql, parameters=dict(params or {}))
                return [tuple(r) for r in result.result_rows]
            except Exception as exc:
                raise ClickHouseError(str(exc).splitlines()[0]) from exc

    def command(self, sql: str) -> None:
        with self._lock:
            try:
                self._client.command(sql)
            except Exception as exc:
                raise ClickHouseError(str(exc).splitlines()[0]) from exc

    def close(self) -> None:
        self._client.close()


_clients: dict[str, Client] = {}
_clients_lock = threading.Lock()


def connect(url: str) -> Client:
    """The process's client for `url` (made once, with the schema created if missing)."""
    from api.clickhouse import schema

    with _clients_lock:
        client = _clients.get(url)
        if client is not None:
            return client
        if url.startswith("chdb:"):
            for other in [u for u in _clients if u.startswith("chdb:")]:
                _clients.pop(other).close()  # one chdb directory per process
            client = ChdbClient(urlsplit(url).path)
        else:
            client = ServerClient(url)
        schema.create(client)
        _clients[url] = client
        return client


def disconnect(url: str | None = None) -> None:
    """Closes the client of `url` (every client when None)."""
    with _clients_lock:
        for u in [u for u in _clients if url is None or u == url]:
            _clients.pop(u).close()
