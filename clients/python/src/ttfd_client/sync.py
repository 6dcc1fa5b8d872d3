"""The blocking client (for Flask and scripts): the same calls as ``Client``, run on a private
event loop in a background thread, so both clients behave identically (same retries, same
idempotency keys)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, Coroutine, List, Optional, TypeVar, Union

from .client import Client, Id
from .models import CoinsResult, DailyClaim, Event, LeaderboardEntry, LinkCode, User, XpResult

T = TypeVar("T")


class SyncClient:
    """``with SyncClient(url, api_key=...) as client: client.update_xp(...)``. Safe to share
    between threads. Events: use ``consume`` (polling) here, or ``Client.events``."""

    def __init__(self, url: str, api_key: Optional[str] = None, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ttfd-client", daemon=True)
        self._thread.start()
        self._client = Client(url, api_key, **options)

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    def close(self) -> None:
        if self._thread.is_alive():
            self._run(self._client.aclose())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> "SyncClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get_or_create_user(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        username: str,
        display_name: Optional[str] = None,
    ) -> User:
        return self._run(
            self._client.get_or_create_user(
                telegram_id=telegram_id,
                discord_id=discord_id,
                website_email=website_email,
                username=username,
                display_name=display_name,
            )
        )

    def get_user(self, **who: Any) -> Optional[User]:
        """Exactly one of ``telegram_id``, ``discord_id``, ``website_email``, ``user_id``."""
        return self._run(self._client.get_user(**who))

    def get_user_by_email(self, email: str) -> Optional[User]:
        return self._run(self._client.get_user_by_email(email))

    def get_user_stats(self, email: str) -> Optional[User]:
        return self._run(self._client.get_user_stats(email))

    def link_discord(self, *, website_email: str, discord_id: Id) -> User:
        return self._run(self._client.link_discord(website_email=website_email, discord_id=discord_id))

    def update_xp(self, *, delta_xp: int, reason: Optional[str] = None, idempotency_key: Optional[str] = None, **who: Any) -> XpResult:
        return self._run(self._client.update_xp(delta_xp=delta_xp, reason=reason, idempotency_key=idempotency_key, **who))

    def update_coins(
        self, *, delta_coins: int, reason: Optional[str] = None, idempotency_key: Optional[str] = None, **who: Any
    ) -> CoinsResult:
        return self._run(
            self._client.update_coins(delta_coins=delta_coins, reason=reason, idempotency_key=idempotency_key, **who)
        )

    def record_game(
        self,
        *,
        game_type: str,
        won: bool,
        xp_earned: Optional[int] = None,
        idempotency_key: Optional[str] = None,
        **who: Any,
    ) -> XpResult:
        return self._run(
            self._client.record_game(
                game_type=game_type, won=won, xp_earned=xp_earned, idempotency_key=idempotency_key, **who
            )
        )

    def record_voice_time(
        self, *, duration: int, xp_earned: Optional[int] = None, idempotency_key: Optional[str] = None, **who: Any
    ) -> XpResult:
        return self._run(
            self._client.record_voice_time(duration=duration, xp_earned=xp_earned, idempotency_key=idempotency_key, **who)
        )

    def record_message(self, *, xp_earned: Optional[int] = None, idempotency_key: Optional[str] = None, **who: Any) -> XpResult:
        return self._run(self._client.record_message(xp_earned=xp_earned, idempotency_key=idempotency_key, **who))

    def claim_daily(self, *, idempotency_key: Optional[str] = None, **who: Any) -> DailyClaim:
        return self._run(self._client.claim_daily(idempotency_key=idempotency_key, **who))

    def create_link_code(self, **who: Any) -> LinkCode:
        return self._run(self._client.create_link_code(**who))

    def redeem_link_code(self, code: str, **who: Any) -> User:
        return self._run(self._client.redeem_link_code(code, **who))

    def get_leaderboard(self, limit: int = 10, season: bool = False) -> List[LeaderboardEntry]:
        return self._run(self._client.get_leaderboard(limit, season))

    def pending_events(self, consumer: str, first: int = 100) -> List[Event]:
        return self._run(self._client.pending_events(consumer, first))

    def ack_events(self, consumer: str, up_to: str) -> int:
        return self._run(self._client.ack_events(consumer, up_to))

    def consume(
        self,
        consumer: str,
        handler: Callable[[Event], Union[None, Awaitable[None]]],
        *,
        batch: int = 100,
        poll_interval: float = 1.0,
        once: bool = False,
    ) -> int:
        """See ``Client.consume``; the handler runs on the client's thread."""
        return self._run(self._client.consume(consumer, handler, batch=batch, poll_interval=poll_interval, once=once))
