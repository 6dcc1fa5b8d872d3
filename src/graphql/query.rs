//! Core query resolvers: users, the leaderboard, ranks and the achievement catalog.

use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::context::{actor, boards_usable, loaders, state};
use super::limits;
use super::shown::{ShownPage, ShownPages};
use super::types::{
    Achievement, LeaderboardConnection, LeaderboardEdge, LeaderboardEntry, LeaderboardScope, PageInfo, User,
    UserRef,
};
use crate::db::achievements;
use crate::db::leaderboard::{Board, Start};
use crate::domain::Rank;
use crate::domain::access::Action;
use crate::domain::cursor::LeaderboardCursor;
use crate::error::AppError;
use crate::service;

#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// Null when no such user.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] user_ref: UserRef,
        #[graphql(
            desc = "An event cursor (a mutation's `eventCursor`): the positions read include that change."
        )]
        consistent_after: Option<String>,
    ) -> Result<Option<User>> {
        let key = user_ref.key()?;
        actor(ctx).authorize(&Action::Lookup(&key))?;
        let memory = boards_usable(ctx, consistent_after.as_deref()).await?;
        // A profile usually shows the position: read it with the user, in one statement.
        if !ctx.look_ahead().field("position").exists() {
            return Ok(service::users::find(state(ctx), &key).await?.map(User));
        }
        let Some((user, position)) = service::users::find_with_position(state(ctx), &key, memory).await?
        else {
            return Ok(None);
        };
        loaders(ctx)?
            .positions
            .feed_one((Board::AllTime, user.xp), position)
            .await;
        Ok(Some(User(user)))
    }

    /// The 20 ranks, F I to S II (at most 20).
    #[graphql(complexity = "crate::domain::ranks::RANKS * child_complexity")]
    async fn ranks(&self, ctx: &Context<'_>) -> Vec<Rank> {
        state(ctx).ranks.all().to_vec()
    }

    /// Users by score, best first; ties share a position and keep a stable order.
    #[graphql(complexity = "limits::LIMITS.leaderboard.cost(first) * child_complexity")]
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(limits::LIMITS.leaderboard.default)")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(LeaderboardScope::AllTime)")] scope: Option<LeaderboardScope>,
        #[graphql(
            desc = "Centre the page on this user: the entries just above and below them (instead of `after`)."
        )]
        around: Option<UserRef>,
        #[graphql(
            desc = "An event cursor (a mutation's `eventCursor`): the page read includes that change."
        )]
        consistent_after: Option<String>,
    ) -> Result<LeaderboardConnection> {
        let memory = boards_usable(ctx, consistent_after.as_deref()).await?;
        let first = limits::LIMITS.leaderboard.take("first", first)? as i32;
        let scope = scope.unwrap_or(LeaderboardScope::AllTime);
        let board = Board::from(scope);
        let after = after
            .map(|c| {
                LeaderboardCursor::decode(&c, board.name())
                    .ok_or_else(|| AppError::invalid("after is not a cursor of this leaderboard"))
            })
            .transpose()?;
        let start = match (around, after) {
            (None, None) => Start::Top,
            (None, Some(after)) => Start::After(after),
            (Some(_), Some(_)) => {
                return Err(AppError::invalid("give either after or around, not both").into());
            }
            (Some(user_ref), None) => {
                let key = user_ref.key()?;
                actor(ctx).authorize(&Action::Lookup(&key))?;
                let user = service::users::find(state(ctx), &key)
                    .await?
                    .ok_or_else(service::users::not_found)?;
                service::leaderboard::start_before(state(ctx), board, &user, first as usize / 2, memory)
                    .await?
            }
        };
        let mut page =
            service::leaderboard::page(state(ctx), board, start, first as usize + 1, memory).await?;
        let has_next_page = page.rows.len() > first as usize;
        page.rows.truncate(first as usize);
        // Per-user fields of the page load in one batch each, whatever the page size: the
        // loaders' time window alone would split a large page into several batches.
        let loaders = loaders(ctx)?;
        let look_ahead = ctx.look_ahead();
        let selects = |field: &str| {
            look_ahead.field("nodes").field("user").field(field).exists()
                || look_ahead
                    .field("edges")
                    .field("node")
                    .field("user")
                    .field(field)
                    .exists()
        };
        if let Some(shown) = ctx.data_opt::<Arc<ShownPages>>() {
            // Positions on the other board change with users this page does not show.
            let other_board = match board {
                Board::AllTime => "seasonPosition",
                Board::Season => "position",
            };
            if matches!(start, Start::Top) && !selects(other_board) {
                shown.note(ShownPage {
                    board,
                    users: page.rows.iter().map(|(u, score, _)| (u.id, *score)).collect(),
                    full: page.rows.len() == first as usize,
                });
            } else {
                shown.refuse();
            }
        }
        let known = page.rows.iter().map(|(_, s, p)| ((board, *s), *p));
        loaders.positions.feed_many(known).await;
        // The other board's positions, in one batch (unless the boards in memory answer).
        if board != Board::AllTime && selects("position") && !(memory && state(ctx).boards.is_ready()) {
            loaders
                .positions
                .load_many(page.rows.iter().map(|(u, _, _)| (Board::AllTime, u.xp)))
                .await?;
        }
        if selects("achievements") {
            loaders
                .achievements
                .load_many(page.rows.iter().map(|(u, _, _)| u.id))
                .await?;
        }
        let edges: Vec<LeaderboardEdge> = page
            .rows
            .into_iter()
            .map(|(user, score, position)| LeaderboardEdge {
                cursor: LeaderboardCursor { score, id: user.id }.encode(board.name()),
                node: LeaderboardEntry {
                    position: i32::try_from(position).unwrap_or(i32::MAX),
                    xp: score,
                    user: User(user),
                },
            })
            .collect();
        let end_cursor = edges.last().map(|e| e.cursor.clone());
        Ok(LeaderboardConnection {
            edges,
            page_info: PageInfo {
                has_next_page,
                end_cursor,
            },
        })
    }

    /// The achievement catalog (at most 100).
    #[graphql(complexity = "crate::domain::rules::MAX_ACHIEVEMENTS * child_complexity")]
    async fn achievements(&self, ctx: &Context<'_>) -> Result<Vec<Achievement>> {
        Ok(achievements::catalog(&state(ctx).pool)
            .await?
            .into_iter()
            .map(Achievement)
            .collect())
    }
}
