"""The asynchronous client: the seed module's calls by the same names, each one request with an
idempotency key it makes (or you pass), retried on transient failures with that same key."""

from __future__ import annotations

import asyncio
import inspect
import random
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Union

import httpx

from . import documents as doc
from .errors import RateLimited, TransportError, error_from
from .events import CursorStore, EventStream, ws_url_of
from .models import CoinsResult, DailyClaim, Event, LeaderboardEntry, LinkCode, User, XpResult, parse_time

Id = Union[str, int]

#: Attempts per call, the first included.
DEFAULT_ATTEMPTS = 6


def user_ref(
    telegram_id: Optional[Id] = None,
    discord_id: Optional[Id] = None,
    website_email: Optional[str] = None,
    user_id: Optional[str] = None,
) -> Dict[str, str]:
    """The ``UserRef`` of exactly one of the four ways to name a user."""
    given = {
        "telegramId": telegram_id,
        "discordId": discord_id,
        "websiteEmail": website_email,
        "id": user_id,
    }
    chosen = {k: str(v) for k, v in given.items() if v is not None}
    if len(chosen) != 1:
        raise TypeError("pass exactly one of telegram_id, discord_id, website_email, user_id")
    return chosen


def _key(given: Optional[str]) -> str:
    return given if given is not None else str(uuid.uuid4())


class Client:
    """``async with Client("https://host/graphql", api_key=...) as client: ...``

    Every state-changing call carries an idempotency key (``idempotency_key=`` or a new UUID)
    and is retried with that key on connection errors, timeouts, HTTP 5xx and ``RATE_LIMITED``
    (after its ``retryAfter``): a retried award is applied once.
    """

    def __init__(
        self,
        url: str,
        api_key: Optional[str] = None,
        *,
        ws_url: Optional[str] = None,
        timeout: float = 10.0,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
    ) -> None:
        self.url = url
        #: The websocket endpoint for ``events``; by default ``/graphql/ws`` beside ``url``.
        self.ws_url = ws_url or ws_url_of(url)
        self.api_key = api_key
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base * (0.5 + random.random() / 2)

    async def execute(
        self, document: str, variables: Optional[Dict[str, Any]] = None, *, retry: bool = True
    ) -> Dict[str, Any]:
        """Runs one GraphQL document and returns its ``data``; a GraphQL error raises its typed
        exception. With ``retry`` transient failures are retried (safe for reads and for
        mutations that carry an idempotency key)."""
        body = {"query": document, "variables": variables or {}}
        attempts = self.attempts if retry else 1
        last: str = "no attempt"
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(wait)
            wait = self._delay(attempt)
            try:
                response = await self._http.post(self.url, json=body)
            except httpx.HTTPError as e:  # connection errors and timeouts
                last = f"{type(e).__name__}: {e}"
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            try:
                payload = response.json()
            except ValueError:
                last = f"HTTP {response.status_code}: not a GraphQL response"
                continue
            errors = payload.get("errors")
            if errors:
                error = error_from(errors[0])
                if isinstance(error, RateLimited) and attempt + 1 < attempts:
                    wait = error.retry_after
                    last = error.message
                    continue
                raise error
            data = payload.get("data")
            if not isinstance(data, dict):
                last = "a response without data"
                continue
            return data
        raise TransportError(f"{self.url}: {last} (after {attempts} attempts)")

    # Users.

    async def get_or_create_user(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        username: str,
        display_name: Optional[str] = None,
    ) -> User:
        ref = user_ref(telegram_id, discord_id, website_email)
        (field, value), = ref.items()
        platform = {"telegramId": "TELEGRAM", "discordId": "DISCORD", "websiteEmail": "WEBSITE"}[field]
        given = {"platform": platform, "externalId": value, "username": username, "displayName": display_name}
        data = await self.execute(doc.UPSERT_USER, {"input": given})
        return User.parse(data["upsertUser"])

    async def get_user(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
    ) -> Optional[User]:
        """The user, or None when there is none."""
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        data = await self.execute(doc.GET_USER, {"ref": ref})
        return User.parse(data["user"]) if data["user"] else None

    async def get_user_by_email(self, email: str) -> Optional[User]:
        return await self.get_user(website_email=email)

    async def get_user_stats(self, email: str) -> Optional[User]:
        """The website's profile read: the user with position, win rate and rank."""
        return await self.get_user(website_email=email)

    async def link_discord(self, *, website_email: str, discord_id: Id) -> User:
        """Links the Discord account the website verified (OAuth) to the user of this email."""
        variables = {"user": user_ref(website_email=website_email), "platform": "DISCORD", "externalId": str(discord_id)}
        data = await self.execute(doc.LINK_PLATFORM, variables)
        return User.parse(data["linkPlatform"])

    # XP, coins, activity.

    async def update_xp(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
        delta_xp: int,
        reason: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> XpResult:
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        variables = {"user": ref, "delta": delta_xp, "reason": reason, "key": _key(idempotency_key)}
        data = await self.execute(doc.AWARD_XP, variables)
        return XpResult.parse(data["awardXp"])

    async def update_coins(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
        delta_coins: int,
        reason: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> CoinsResult:
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        variables = {"user": ref, "delta": delta_coins, "reason": reason, "key": _key(idempotency_key)}
        data = (await self.execute(doc.ADJUST_COINS, variables))["adjustCoins"]
        return CoinsResult(coins=data["coins"], delta=data["delta"])

    async def record_game(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
        game_type: str,
        won: bool,
        xp_earned: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> XpResult:
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        variables = {"user": ref, "gameType": game_type, "won": won, "xp": xp_earned, "key": _key(idempotency_key)}
        return XpResult.parse((await self.execute(doc.RECORD_GAME, variables))["recordGame"])

    async def record_voice_time(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
        duration: int,
        xp_earned: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> XpResult:
        """``duration`` in seconds."""
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        variables = {"user": ref, "seconds": duration, "xp": xp_earned, "key": _key(idempotency_key)}
        return XpResult.parse((await self.execute(doc.RECORD_VOICE, variables))["recordVoiceTime"])

    async def record_message(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
        xp_earned: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> XpResult:
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        variables = {"user": ref, "xp": xp_earned, "key": _key(idempotency_key)}
        return XpResult.parse((await self.execute(doc.RECORD_MESSAGE, variables))["recordMessage"])

    async def claim_daily(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> DailyClaim:
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        d = (await self.execute(doc.CLAIM_DAILY, {"user": ref, "key": _key(idempotency_key)}))["claimDaily"]
        change = XpResult.parse(d["xpChange"]) if d.get("xpChange") else None
        return DailyClaim(
            streak=d["streak"],
            reward_coins=d["rewardCoins"],
            reward_xp=d["rewardXp"],
            freezes_used=d["freezesUsed"],
            change=change,
        )

    # Linking.

    async def create_link_code(
        self,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
        user_id: Optional[str] = None,
    ) -> LinkCode:
        """A one-time code for the user in front of this platform (a retry may make a second
        code; the unused one expires)."""
        ref = user_ref(telegram_id, discord_id, website_email, user_id)
        d = (await self.execute(doc.CREATE_LINK_CODE, {"user": ref}))["createLinkCode"]
        return LinkCode(code=d["code"], expires_at=parse_time(d["expiresAt"]))  # type: ignore[arg-type]

    async def redeem_link_code(
        self,
        code: str,
        *,
        telegram_id: Optional[Id] = None,
        discord_id: Optional[Id] = None,
        website_email: Optional[str] = None,
    ) -> User:
        """Redeems a code for the user addressed on this platform. Not retried: a code works
        once, so a retry after a lost answer would read NOT_FOUND; read the user instead."""
        ref = user_ref(telegram_id, discord_id, website_email)
        data = await self.execute(doc.REDEEM_LINK_CODE, {"code": code, "user": ref}, retry=False)
        return User.parse(data["redeemLinkCode"])

    # Reads.

    async def get_leaderboard(self, limit: int = 10, season: bool = False) -> List[LeaderboardEntry]:
        variables = {"first": limit, "scope": "SEASON" if season else "ALL_TIME"}
        nodes = (await self.execute(doc.LEADERBOARD, variables))["leaderboard"]["nodes"]
        return [LeaderboardEntry(position=n["position"], xp=n["xp"], user=User.parse(n["user"])) for n in nodes]

    # Events.

    def events(
        self,
        *,
        types: Optional[Sequence[str]] = None,
        platforms: Optional[Sequence[str]] = None,
        user_id: Optional[str] = None,
        cursor_store: Optional[CursorStore] = None,
        after: Optional[str] = None,
    ) -> EventStream:
        """Every matching event once, in log order, across reconnects and restarts:
        ``async for event in client.events(...)`` (or inside ``async with``, which also stores
        the last event's cursor when the block ends normally). See ``EventStream``."""
        return EventStream(
            ws_url=self.ws_url,
            api_key=self.api_key,
            types=types,
            platforms=platforms,
            user_id=user_id,
            cursor_store=cursor_store,
            after=after,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
        )

    async def pending_events(self, consumer: str, first: int = 100) -> List[Event]:
        data = await self.execute(doc.PENDING, {"consumer": consumer, "first": first})
        return [Event.parse(e) for e in data["pendingEvents"]]

    async def ack_events(self, consumer: str, up_to: str) -> int:
        """Acknowledges the consumer's events up to the cursor ``up_to`` (positions only move
        forward, so a retry is harmless)."""
        return int((await self.execute(doc.ACK, {"consumer": consumer, "upTo": up_to}))["ackEvents"])

    async def consume(
        self,
        consumer: str,
        handler: Callable[[Event], Union[None, Awaitable[None]]],
        *,
        batch: int = 100,
        poll_interval: float = 1.0,
        once: bool = False,
    ) -> int:
        """The seed's sync worker done right: polls ``pendingEvents`` for ``consumer``, calls
        ``handler`` (sync or async) on each event in order, and acknowledges exactly what was
        handled. When the handler raises, what it handled before is acknowledged and the error
        propagates: the failed event is the consumer's next. Runs forever, or with ``once``
        until nothing is pending; returns how many events were handled."""
        handled_total = 0
        while True:
            events = await self.pending_events(consumer, batch)
            handled: Optional[str] = None
            try:
                for event in events:
                    outcome = handler(event)
                    if inspect.isawaitable(outcome):
                        await outcome
                    handled = event.cursor
                    handled_total += 1
            finally:
                if handled is not None:
                    await self.ack_events(consumer, handled)
            if len(events) < batch:
                if once:
                    return handled_total
                await asyncio.sleep(poll_interval)
