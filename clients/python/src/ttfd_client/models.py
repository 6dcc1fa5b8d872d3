"""What the calls return: dataclasses built from the service's responses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional


def parse_time(raw: Optional[str]) -> Optional[datetime]:
    """An RFC 3339 time as the service writes it (Python 3.9's ``fromisoformat`` takes neither
    ``Z`` nor more than six fractional digits)."""
    if raw is None:
        return None
    text = raw.replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Rank:
    id: int
    name: str
    tier: str
    stars: int
    color: str
    required_xp: int
    reward_coins: int
    emoji: Optional[str] = None

    @classmethod
    def parse(cls, d: Dict[str, Any]) -> "Rank":
        return cls(
            id=d["id"],
            name=d["name"],
            tier=d["tier"],
            stars=d["stars"],
            color=d["color"],
            required_xp=d["requiredXp"],
            reward_coins=d["rewardCoins"],
            emoji=d.get("emoji"),
        )


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    telegram_id: Optional[str]
    discord_id: Optional[str]
    website_email: Optional[str]
    platforms: List[str]
    primary_platform: str
    xp: int
    coins: int
    rank: Rank
    games_played: int
    games_won: int
    total_voice_time: int
    messages_sent: int
    achievements: List[str]
    current_season_xp: int
    daily_streak: int
    last_daily: Optional[datetime]
    created_at: datetime
    last_active: datetime
    win_rate: Optional[float]
    position: int

    @classmethod
    def parse(cls, d: Dict[str, Any]) -> "User":
        return cls(
            id=d["id"],
            username=d["username"],
            display_name=d["displayName"],
            telegram_id=d.get("telegramId"),
            discord_id=d.get("discordId"),
            website_email=d.get("websiteEmail"),
            platforms=[p.lower() for p in d["platforms"]],
            primary_platform=d["primaryPlatform"].lower(),
            xp=d["xp"],
            coins=d["coins"],
            rank=Rank.parse(d["rank"]),
            games_played=d["gamesPlayed"],
            games_won=d["gamesWon"],
            total_voice_time=d["totalVoiceTime"],
            messages_sent=d["messagesSent"],
            achievements=[a["achievement"]["code"] for a in d["achievements"]],
            current_season_xp=d["currentSeasonXp"],
            daily_streak=d["dailyStreak"],
            last_daily=parse_time(d.get("lastDaily")),
            created_at=parse_time(d["createdAt"]),  # type: ignore[arg-type]
            last_active=parse_time(d["lastActive"]),  # type: ignore[arg-type]
            win_rate=d.get("winRate"),
            position=d["position"],
        )


@dataclass(frozen=True)
class RankReward:
    rank: Rank
    reward_coins: int


@dataclass(frozen=True)
class AchievementReward:
    code: str
    name: str
    reward_xp: int
    reward_coins: int


@dataclass(frozen=True)
class XpResult:
    """What an XP-changing call did, for its whole transaction. ``xp``, ``rank_up``,
    ``old_rank``, ``new_rank`` (rank ids, 1-20) and ``reward_coins`` are the seed's
    ``update_xp`` result; the rest is the whole truth: final coins, every rank crossed and every
    achievement the change unlocked, with their rewards."""

    xp: int
    rank_up: bool
    old_rank: int
    new_rank: int
    reward_coins: int
    delta: int
    coins: int
    new_rank_name: str
    ranks_crossed: List[RankReward] = field(default_factory=list)
    achievements_unlocked: List[AchievementReward] = field(default_factory=list)

    @classmethod
    def parse(cls, d: Dict[str, Any]) -> "XpResult":
        return cls(
            xp=d["xp"],
            rank_up=d["rankUp"],
            old_rank=d["oldRank"]["id"],
            new_rank=d["newRank"]["id"],
            reward_coins=d["rewardCoins"],
            delta=d["delta"],
            coins=d["coins"],
            new_rank_name=d["newRank"]["name"],
            ranks_crossed=[
                RankReward(rank=Rank.parse(r["rank"]), reward_coins=r["rewardCoins"]) for r in d["ranksCrossed"]
            ],
            achievements_unlocked=[
                AchievementReward(
                    code=a["code"], name=a["name"], reward_xp=a["rewardXp"], reward_coins=a["rewardCoins"]
                )
                for a in d["achievementsUnlocked"]
            ],
        )


@dataclass(frozen=True)
class CoinsResult:
    coins: int
    delta: int


@dataclass(frozen=True)
class DailyClaim:
    streak: int
    reward_coins: int
    reward_xp: int
    freezes_used: int
    change: Optional[XpResult]


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class LeaderboardEntry:
    position: int
    xp: int
    user: User


@dataclass(frozen=True)
class Event:
    """One cross-platform event. ``type`` and ``source_platform`` are the schema's enum names
    (``RANK_UP``, ``TELEGRAM``); ``cursor`` resumes right after it."""

    id: str
    type: str
    user_id: str
    source_platform: str
    data: Dict[str, Any]
    cursor: str
    created_at: datetime

    @classmethod
    def parse(cls, d: Dict[str, Any]) -> "Event":
        return cls(
            id=d["id"],
            type=d["type"],
            user_id=d["userId"],
            source_platform=d["sourcePlatform"],
            data=d["data"],
            cursor=d["cursor"],
            created_at=parse_time(d["createdAt"]),  # type: ignore[arg-type]
        )
