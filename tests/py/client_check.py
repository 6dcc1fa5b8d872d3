"""Drives the ttfd-client package (clients/python) against a real server for the Rust tests
(tests/api/python_client.rs). Each mode asserts what it can see and prints JSON lines; a
failed assertion exits non-zero with its traceback."""

import argparse
import asyncio
import json
import sys

from ttfd_client import (
    AlreadyClaimed,
    Client,
    Conflict,
    FileCursorStore,
    Forbidden,
    InsufficientCoins,
    InvalidInput,
    NotFound,
    SyncClient,
    TtfdError,
    Unauthenticated,
)


def emit(value):
    print(json.dumps(value), flush=True)


async def raises(kind, call):
    try:
        await call
    except kind as e:
        assert isinstance(e, TtfdError)
        return e
    raise AssertionError(f"expected {kind.__name__}")


async def calls(a):
    async with Client(a.url, api_key=a.telegram_key) as tg, Client(a.url, api_key=a.discord_key) as dc, Client(
        a.url, api_key=a.website_key
    ) as web:
        ann = await tg.get_or_create_user(telegram_id=1001, username="ann", display_name="Ann")
        assert (ann.telegram_id, ann.xp, ann.rank.id, ann.platforms) == ("1001", 0, 1, ["telegram"])
        again = await tg.get_or_create_user(telegram_id="1001", username="ann2")
        assert (again.id, again.username, again.display_name) == (ann.id, "ann2", "Ann")
        assert await tg.get_user(telegram_id=9999) is None
        assert (await tg.get_user(user_id=ann.id)).id == ann.id

        # One award across many ranks: the seed's fields, and the whole truth beside them.
        big = await tg.update_xp(telegram_id=1001, delta_xp=12000, reason="welcome")
        assert big.rank_up and big.old_rank == 1 and big.new_rank > 2 and big.delta == 12000
        assert [c.rank.id for c in big.ranks_crossed] == list(range(2, big.new_rank + 1))
        assert big.reward_coins == sum(c.reward_coins for c in big.ranks_crossed)
        paid = big.reward_coins + sum(u.reward_coins for u in big.achievements_unlocked)
        assert big.coins == paid, (big.coins, paid)
        assert big.xp == 12000 + sum(u.reward_xp for u in big.achievements_unlocked)
        now = await tg.get_user(telegram_id=1001)
        assert (now.xp, now.coins, now.rank.id) == (big.xp, big.coins, big.new_rank)

        # The same key twice: one change, the same answer.
        first = await tg.update_xp(telegram_id=1001, delta_xp=10, idempotency_key="k-1")
        second = await tg.update_xp(telegram_id=1001, delta_xp=10, idempotency_key="k-1")
        assert first == second and (await tg.get_user(telegram_id=1001)).xp == first.xp
        await raises(Conflict, tg.update_xp(telegram_id=1001, delta_xp=11, idempotency_key="k-1"))

        coins = await tg.update_coins(telegram_id=1001, delta_coins=5, reason="gift")
        assert (coins.delta, coins.coins) == (5, first.coins + 5)
        short = await raises(InsufficientCoins, tg.update_coins(telegram_id=1001, delta_coins=-(10**6)))
        assert short.balance == coins.coins

        game = await tg.record_game(telegram_id=1001, game_type="chess", won=True)
        assert game.delta > 0
        loss = await tg.record_game(telegram_id=1001, game_type="chess", won=False, xp_earned=3)
        assert loss.delta == 3
        daily = await tg.claim_daily(telegram_id=1001)
        assert daily.streak == 1 and daily.change is not None and daily.change.delta == daily.reward_xp
        await raises(AlreadyClaimed, tg.claim_daily(telegram_id=1001))

        bob = await dc.get_or_create_user(discord_id=2002, username="bob")
        voice = await dc.record_voice_time(discord_id=2002, duration=600)
        assert voice.delta == 20, voice
        message = await dc.record_message(discord_id=2002)
        assert message.delta >= 0
        assert (await dc.get_user(discord_id=2002)).messages_sent == 1

        await raises(Forbidden, dc.update_xp(telegram_id=1001, delta_xp=1))
        await raises(InvalidInput, tg.update_xp(telegram_id="abc", delta_xp=1))
        await raises(NotFound, tg.update_xp(telegram_id=5555, delta_xp=1))
        async with Client(a.url) as public:
            await raises(Unauthenticated, public.update_xp(user_id=ann.id, delta_xp=1))
        try:
            await tg.update_xp(telegram_id=1, discord_id=2, delta_xp=1)
            raise AssertionError("two identities were accepted")
        except TypeError:
            pass

        carol = await web.get_or_create_user(website_email="Carol@Example.com", username="carol")
        assert carol.website_email == "carol@example.com"
        linked = await web.link_discord(website_email="carol@example.com", discord_id=3003)
        assert linked.discord_id == "3003" and linked.id == carol.id
        stats = await web.get_user_stats("carol@example.com")
        assert stats.discord_id == "3003" and stats.position >= 1
        assert (await web.get_user_by_email("CAROL@example.com")).id == carol.id
        await raises(Conflict, web.link_discord(website_email="carol@example.com", discord_id=2002))

        # A code made on Telegram, redeemed by the Discord bot: bob's account folds into ann's.
        code = await tg.create_link_code(telegram_id=1001)
        merged = await dc.redeem_link_code(code.code, discord_id=2002)
        assert merged.id == ann.id and merged.discord_id == "2002" and merged.messages_sent == 1
        await raises(NotFound, dc.redeem_link_code(code.code, discord_id=2002))

        board = await tg.get_leaderboard(limit=5)
        assert board[0].position == 1 and board[0].user.id == ann.id and board[0].xp == board[0].user.xp
        season = await tg.get_leaderboard(limit=5, season=True)
        assert season[0].user.id == ann.id

    with SyncClient(a.url, api_key=a.telegram_key) as sync:
        step = sync.update_xp(telegram_id=1001, delta_xp=1)
        assert step.delta == 1 and sync.get_user(telegram_id=1001).xp == step.xp
        try:
            sync.claim_daily(telegram_id=1001)
            raise AssertionError("claimed twice")
        except AlreadyClaimed:
            pass
    emit({"ok": True})


async def retry(a):
    async with Client(a.url, api_key=a.telegram_key, backoff=0.05) as tg:
        result = await tg.update_xp(telegram_id=a.telegram_id, delta_xp=50)
        emit({"xp": result.xp, "delta": result.delta})


async def events(a):
    async with Client(a.url, api_key=a.telegram_key, backoff=0.05, max_backoff=0.5) as client:
        store = FileCursorStore(a.store)
        after = store.load() or a.after
        stream = client.events(types=["XP_CHANGE"], user_id=a.user_id, cursor_store=store, after=after)
        seen = 0
        async with stream:
            async for event in stream:
                assert event.type == "XP_CHANGE" and event.user_id == a.user_id
                emit({"id": event.id, "delta": event.data["delta"], "cursor": event.cursor})
                seen += 1
                if seen == a.count:
                    break


async def consume(a):
    handled = []

    def handler(event):
        if len(handled) + 1 == a.fail_at:
            raise RuntimeError("the bot failed on this event")
        handled.append(event.id)

    async with Client(a.url, api_key=a.telegram_key) as client:
        try:
            total = await client.consume(a.consumer, handler, batch=a.batch, once=True)
            emit({"handled": handled, "total": total, "raised": False})
        except RuntimeError:
            emit({"handled": handled, "raised": True})


def main():
    import logging, os
    if os.environ.get("TTFD_CLIENT_DEBUG"):
        logging.basicConfig(level=logging.DEBUG)
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["calls", "retry", "events", "consume"])
    p.add_argument("--url", required=True)
    for key in ("telegram", "discord", "website"):
        p.add_argument(f"--{key}-key")
    p.add_argument("--telegram-id")
    p.add_argument("--user-id")
    p.add_argument("--store")
    p.add_argument("--after")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--consumer")
    p.add_argument("--fail-at", type=int, default=0)
    p.add_argument("--batch", type=int, default=100)
    a = p.parse_args()
    asyncio.run({"calls": calls, "retry": retry, "events": events, "consume": consume}[a.mode](a))


if __name__ == "__main__":
    sys.exit(main())
