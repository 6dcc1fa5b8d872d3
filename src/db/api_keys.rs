//! `api_keys`.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::Name;
use crate::domain::Platform;
use crate::domain::access::Role;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
}

#[derive(sqlx::FromRow)]
pub struct KeyRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub platform: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    pub fn key(&self) -> AppResult<ApiKey> {
        let platform = self.platform.as_deref().and_then(Platform::parse);
        let role = Role::parse(&self.role, platform).map_err(AppError::internal)?;
        Ok(ApiKey {
            id: self.id,
            name: self.name.clone(),
            role,
        })
    }
}

const COLUMNS: &str = "id, name, role, platform, created_at, revoked_at";

pub async fn create(ex: impl PgExecutor<'_>, name: &Name, role: Role, secret_hash: &[u8]) -> AppResult<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO api_keys (id, name, role, platform, secret_hash) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(name.as_str())
        .bind(role.name())
        .bind(role.platform().map(Platform::as_str))
        .bind(secret_hash)
        .execute(ex)
        .await?;
    Ok(id)
}

/// The live (not revoked) key with this secret hash.
pub async fn find_live(ex: impl PgExecutor<'_>, secret_hash: &[u8]) -> AppResult<Option<KeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL");
    Ok(sqlx::query_as(&sql).bind(secret_hash).fetch_optional(ex).await?)
}

pub async fn is_live(ex: impl PgExecutor<'_>, id: Uuid) -> AppResult<bool> {
    Ok(
        sqlx::query_scalar("SELECT revoked_at IS NULL FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?
            .unwrap_or(false),
    )
}

pub async fn list(ex: impl PgExecutor<'_>) -> AppResult<Vec<KeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY name");
    Ok(sqlx::query_as(&sql).fetch_all(ex).await?)
}

/// Revokes the key named `name`; false when there is no live key of that name.
pub async fn revoke(ex: impl PgExecutor<'_>, name: &Name) -> AppResult<bool> {
    let done = sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL")
        .bind(name.as_str())
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}
