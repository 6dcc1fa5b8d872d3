"""The GraphQL documents the client sends: written once here, so bot code never holds one."""

RANK = "id name tier stars color requiredXp rewardCoins emoji"

USER = f"""
id username displayName telegramId discordId websiteEmail platforms primaryPlatform
xp coins rank {{ {RANK} }} gamesPlayed gamesWon totalVoiceTime messagesSent
achievements {{ achievement {{ code }} }} currentSeasonXp dailyStreak lastDaily createdAt lastActive
winRate position
"""

XP_CHANGE = f"""
delta xp coins rankUp rewardCoins oldRank {{ id name }} newRank {{ id name }}
ranksCrossed {{ rank {{ {RANK} }} rewardCoins }}
achievementsUnlocked {{ code name rewardXp rewardCoins }}
"""

GET_USER = f"query($ref: UserRef!) {{ user(ref: $ref) {{ {USER} }} }}"

UPSERT_USER = f"mutation($input: UpsertUserInput!) {{ upsertUser(input: $input) {{ {USER} }} }}"

AWARD_XP = f"""mutation($user: UserRef!, $delta: Int!, $reason: String, $key: String) {{
  awardXp(user: $user, delta: $delta, reason: $reason, idempotencyKey: $key) {{ {XP_CHANGE} }}
}}"""

ADJUST_COINS = """mutation($user: UserRef!, $delta: Int!, $reason: String, $key: String) {
  adjustCoins(user: $user, delta: $delta, reason: $reason, idempotencyKey: $key) { delta coins }
}"""

RECORD_GAME = f"""mutation($user: UserRef!, $gameType: String!, $won: Boolean!, $xp: Int, $key: String) {{
  recordGame(user: $user, gameType: $gameType, won: $won, xp: $xp, idempotencyKey: $key) {{ {XP_CHANGE} }}
}}"""

RECORD_VOICE = f"""mutation($user: UserRef!, $seconds: Int!, $xp: Int, $key: String) {{
  recordVoiceTime(user: $user, seconds: $seconds, xp: $xp, idempotencyKey: $key) {{ {XP_CHANGE} }}
}}"""

RECORD_MESSAGE = f"""mutation($user: UserRef!, $xp: Int, $key: String) {{
  recordMessage(user: $user, xp: $xp, idempotencyKey: $key) {{ {XP_CHANGE} }}
}}"""

CLAIM_DAILY = f"""mutation($user: UserRef!, $key: String) {{
  claimDaily(user: $user, idempotencyKey: $key) {{
    streak rewardCoins rewardXp freezesUsed xpChange {{ {XP_CHANGE} }}
  }}
}}"""

LINK_PLATFORM = f"""mutation($user: UserRef!, $platform: Platform!, $externalId: String!) {{
  linkPlatform(user: $user, platform: $platform, externalId: $externalId) {{ {USER} }}
}}"""

CREATE_LINK_CODE = "mutation($user: UserRef!) { createLinkCode(user: $user) { code expiresAt } }"

REDEEM_LINK_CODE = f"""mutation($code: String!, $user: UserRef!) {{
  redeemLinkCode(code: $code, user: $user) {{ {USER} }}
}}"""

LEADERBOARD = f"""query($first: Int!, $scope: LeaderboardScope!) {{
  leaderboard(first: $first, scope: $scope) {{ nodes {{ position xp user {{ {USER} }} }} }}
}}"""

EVENT = "id cursor type sourcePlatform userId data createdAt"

PENDING = f"query($consumer: String!, $first: Int!) {{ pendingEvents(consumer: $consumer, first: $first) {{ {EVENT} }} }}"

ACK = "mutation($consumer: String!, $upTo: String!) { ackEvents(consumer: $consumer, upTo: $upTo) }"

SUBSCRIBE = f"subscription($filter: EventFilter, $after: String) {{ events(filter: $filter, after: $after) {{ {EVENT} }} }}"
