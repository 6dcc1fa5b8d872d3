"""TTFD Unified's Python client: ``Client`` (asyncio) and ``SyncClient`` (blocking, for Flask),
with exactly-once calls by default and events without loss."""

from .client import Client, user_ref
from .errors import (
    AlreadyClaimed,
    Conflict,
    Forbidden,
    GraphQLError,
    InsufficientCoins,
    InternalError,
    InvalidInput,
    NotFound,
    RateLimited,
    TransportError,
    TtfdError,
    Unauthenticated,
)
from .events import CursorStore, EventStream, FileCursorStore, MemoryCursorStore
from .models import (
    AchievementReward,
    CoinsResult,
    DailyClaim,
    Event,
    LeaderboardEntry,
    LinkCode,
    Rank,
    RankReward,
    User,
    XpResult,
)
from .sync import SyncClient

__all__ = [
    "AchievementReward",
    "AlreadyClaimed",
    "Client",
    "CoinsResult",
    "Conflict",
    "CursorStore",
    "DailyClaim",
    "Event",
    "EventStream",
    "FileCursorStore",
    "Forbidden",
    "GraphQLError",
    "InsufficientCoins",
    "InternalError",
    "InvalidInput",
    "LeaderboardEntry",
    "LinkCode",
    "MemoryCursorStore",
    "NotFound",
    "Rank",
    "RankReward",
    "RateLimited",
    "SyncClient",
    "TransportError",
    "TtfdError",
    "Unauthenticated",
    "User",
    "XpResult",
    "user_ref",
]
