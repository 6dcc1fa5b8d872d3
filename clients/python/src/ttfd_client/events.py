"""Events without loss: a websocket subscription (graphql-transport-ws) that stores each
event's cursor once the caller has handled it, reconnects with backoff, and resumes after the
last cursor, so every event arrives once across dropped connections and restarts."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import random
import tempfile
from typing import Any, Dict, Optional, Sequence, Union

try:  # websockets 14 and later
    from websockets.asyncio.client import connect as ws_connect
except ImportError:  # pragma: no cover - websockets 11 to 13
    from websockets import connect as ws_connect  # type: ignore[no-redef]
from websockets.exceptions import WebSocketException

from . import documents as doc
from .errors import TransportError, error_from
from .models import Event

log = logging.getLogger("ttfd_client")

try:
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment,misc]


class CursorStore(Protocol):
    """Where a subscriber keeps its position: any object with ``load`` and ``save`` (each may
    be a coroutine function)."""

    def load(self) -> Any: ...

    def save(self, cursor: str) -> Any: ...


class MemoryCursorStore:
    """A position kept for the life of the process."""

    def __init__(self, cursor: Optional[str] = None) -> None:
        self.cursor = cursor

    def load(self) -> Optional[str]:
        return self.cursor

    def save(self, cursor: str) -> None:
        self.cursor = cursor


class FileCursorStore:
    """A position kept in a file, replaced atomically, so a bot that restarts resumes where it
    stopped."""

    def __init__(self, path: Union[str, "os.PathLike[str]"]) -> None:
        self.path = os.fspath(path)

    def load(self) -> Optional[str]:
        try:
            with open(self.path, encoding="utf-8") as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def save(self, cursor: str) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cursor-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(cursor)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def ws_url_of(url: str) -> str:
    """The websocket endpoint beside a ``/graphql`` URL: ``ws(s)://host/graphql/ws``."""
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    return url.rstrip("/") + "/ws"


def _refused_status(error: Exception) -> Optional[int]:
    """The HTTP status of a refused websocket upgrade, across websockets' versions."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(error, "status_code", None)
    return int(status) if status else None


class EventStream:
    """An async iterator of ``Event``. The cursor of an event is stored when the caller asks
    for the next one (it has handled this one), or, inside ``async with``, when the block ends
    without an error. Errors the service sends (``FORBIDDEN``, ``INVALID_INPUT``) raise; a
    dropped connection is reopened with backoff and resumes after the last event delivered."""

    def __init__(
        self,
        *,
        ws_url: str,
        api_key: Optional[str],
        types: Optional[Sequence[str]],
        platforms: Optional[Sequence[str]],
        user_id: Optional[str],
        cursor_store: Optional[Any],
        after: Optional[str],
        backoff: float,
        max_backoff: float,
    ) -> None:
        self._url = ws_url
        self._api_key = api_key
        flt: Dict[str, Any] = {}
        if types:
            flt["types"] = list(types)
        if platforms:
            flt["platforms"] = list(platforms)
        if user_id:
            flt["userId"] = user_id
        self._filter = flt or None
        self._store = cursor_store
        self._after = after
        self._loaded = False
        self._unsaved: Optional[str] = None
        self._ws: Any = None
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._failures = 0

    def __aiter__(self) -> "EventStream":
        return self

    async def __aenter__(self) -> "EventStream":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self._save()
        await self.aclose()

    async def aclose(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            await ws.close()

    async def _save(self) -> None:
        if self._unsaved is not None and self._store is not None:
            await _maybe(self._store.save(self._unsaved))
        self._unsaved = None

    async def __anext__(self) -> Event:
        await self._save()
        if not self._loaded:
            self._loaded = True
            if self._after is None and self._store is not None:
                self._after = await _maybe(self._store.load())
        while True:
            try:
                if self._ws is None:
                    await self._open()
                event = await self._receive()
            except (OSError, WebSocketException, asyncio.TimeoutError) as e:
                status = _refused_status(e)
                if status is not None and 400 <= status < 500 and status != 429:
                    # Not a passing fault: the URL or the deployment is wrong.
                    raise TransportError(f"{self._url}: the websocket upgrade was refused (HTTP {status})") from e
                log.warning("events: %s: %s; reconnecting", self._url, e or type(e).__name__)
                await self._reconnect_later()
                continue
            if event is None:
                # The server completed the subscription: subscribe again from the last cursor.
                await self._reconnect_later()
                continue
            self._failures = 0
            self._after = event.cursor
            self._unsaved = event.cursor
            return event

    async def _reconnect_later(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            try:
                await ws.close()
            except Exception:  # the connection is gone either way
                pass
        delay = min(self._max_backoff, self._backoff * (2**self._failures))
        self._failures += 1
        await asyncio.sleep(delay * (0.5 + random.random() / 2))

    async def _open(self) -> None:
        ws = await ws_connect(self._url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        try:
            init: Dict[str, Any] = {"type": "connection_init"}
            if self._api_key:
                init["payload"] = {"Authorization": f"Bearer {self._api_key}"}
            await ws.send(json.dumps(init))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message.get("type") == "connection_ack":
                    break
                if message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
            variables = {"filter": self._filter, "after": self._after}
            payload = {"query": doc.SUBSCRIBE, "variables": variables}
            await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
        except BaseException:
            await ws.close()
            raise
        self._ws = ws

    async def _receive(self) -> Optional[Event]:
        while True:
            message = json.loads(await self._ws.recv())
            kind = message.get("type")
            if kind == "ping":
                await self._ws.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    error = error_from(payload["errors"][0])
                    if error.code == "INTERNAL":
                        # The server could not read the log: resume from the last cursor.
                        return None
                    raise error
                return Event.parse(payload["data"]["events"])
            elif kind == "error":
                errors = message.get("payload") or [{"message": "subscription refused"}]
                raise error_from(errors[0])
            elif kind == "complete":
                return None
