//! Users, sessions and reader credentials.

use crate::store::db::{Db, OptionalExtension};

use super::{paging, Store};
use crate::accounts::{new_token, token_hash, READER_PREFIX, SESSION_PREFIX};
use crate::error::{AppError, AppResult, Reason};
use crate::paging::Page;
use crate::policy::{Actor, Reach, Role};
use crate::register::User;
use crate::time::now_ms;

/// A logged-in user's new session.
#[derive(Debug, Clone)]
pub struct AuthenticatedSession {
    pub token: String,
    pub expires_at: i64,
    pub user: User,
}

fn row_to_user(r: &crate::store::db::Row<'_>) -> rusqlite::Result<(User, String)> {
    let role: String = r.get(3)?;
    Ok((
        User {
            id: r.get(0)?,
            username: r.get(1)?,
            display_name: r.get(2)?,
            role: Role::parse(&role).unwrap_or(Role::UnitStaff),
            unit_id: r.get(4)?,
            active: r.get(5)?,
            region_id: r.get(7)?,
            agency_head: r.get::<_, i64>(8)? != 0,
        },
        r.get(6)?,
    ))
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, unit_id, active, password_hash, region_id, agency_head";

pub(crate) fn insert_user(
    conn: &Db<'_>,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    unit_id: Option<i64>,
    region_id: Option<i64>,
) -> AppResult<User> {
    if let Some(u) = unit_id {
        super::register::require_exists(conn, "units", "unit_id", u)?;
    }
    if let Some(r) = region_id {
        super::register::require_exists(conn, "regions", "region_id", r)?;
    }
    conn.execute(
        "INSERT INTO users (username, display_name, password_hash, role, unit_id, created_at,
                            region_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (
            username,
            display_name,
            password_hash,
            role.as_str(),
            unit_id,
            now_ms(),
            region_id,
        ),
    )?;
    Ok(User {
        id: conn.last_insert_rowid()?,
        username: username.to_owned(),
        display_name: display_name.to_owned(),
        role,
        unit_id,
        active: true,
        region_id,
        agency_head: false,
    })
}

impl Store {
    /// Stores a user whose password is already hashed.
    pub async fn create_user(
        &self,
        username: String,
        display_name: String,
        password_hash: String,
        role: Role,
        unit_id: Option<i64>,
        region_id: Option<i64>,
    ) -> AppResult<User> {
        self.write(move |tx| {
            insert_user(
                tx,
                &username,
                &display_name,
                &password_hash,
                role,
                unit_id,
                region_id,
            )
        })
        .await
    }

    pub async fn list_users(&self, page: i64, per_page: i64) -> AppResult<Page<User>> {
        self.search_users(None, page, per_page).await
    }

    /// Users whose username or display name holds `q`.
    pub async fn search_users(
        &self,
        q: Option<String>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<User>> {
        let words = q.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
        self.read(move |c| {
            paging::page(
                c,
                USER_COLUMNS,
                "users WHERE (?1 IS NULL OR instr(username, ?1) > 0 OR instr(display_name, ?1) > 0)",
                "id",
                &[words.clone().into()],
                (page, per_page),
                |r| row_to_user(r).map(|(u, _)| u),
            )
        })
        .await
    }

    /// The user and their password hash, for login.
    pub async fn user_for_login(&self, username: String) -> AppResult<Option<(User, String)>> {
        self.read(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                row_to_user,
            )
            .optional()?)
        })
        .await
    }

    pub async fn create_session(
        &self,
        user: User,
        ttl_secs: i64,
    ) -> AppResult<AuthenticatedSession> {
        self.write(move |tx| {
            let token = new_token(SESSION_PREFIX);
            let now = now_ms();
            let expires_at = now + ttl_secs * 1000;
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                (token_hash(&token), user.id, now, expires_at),
            )?;
            // Old sessions are swept as new ones start.
            tx.execute("DELETE FROM sessions WHERE expires_at < ?1", [now])?;
            Ok(AuthenticatedSession { token, expires_at, user })
        })
        .await
    }

    pub async fn delete_session(&self, token: String) -> AppResult<()> {
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [token_hash(&token)],
            )?;
            Ok(())
        })
        .await
    }

    /// Who a bearer token (session or reader) belongs to, if valid now.
    pub async fn actor_for_token(&self, token: String) -> AppResult<Option<Actor>> {
        self.read(move |c| {
            let hash = token_hash(&token);
            if token.starts_with(READER_PREFIX) {
                return super::daemons::daemon_for_token(c, &token);
            }
            if !token.starts_with(SESSION_PREFIX) {
                return Ok(None);
            }
            let found = c
                .prepare_cached(
                    "SELECT u.id, u.username, u.role, u.unit_id, u.active, s.expires_at,
                            COALESCE(u.region_id, un.region_id)
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     LEFT JOIN units un ON un.id = u.unit_id
                     WHERE s.token_hash = ?1",
                )?
                .query_row([hash], |r| {
                    let role: String = r.get(2)?;
                    Ok((
                        (
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            Role::parse(&role).unwrap_or(Role::UnitStaff),
                            r.get::<_, Option<i64>>(3)?,
                        ),
                        r.get::<_, bool>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                    ))
                })
                .optional()?;
            Ok(match found {
                Some(((id, username, role, unit_id), true, expires, region))
                    if expires > now_ms() =>
                {
                    let reach = match region {
                        None => Reach::Network,
                        Some(r) => Reach::region(r, &super::register::region_and_below(c, r)?),
                    };
                    Some(Actor::User {
                        id,
                        username,
                        role,
                        unit_id,
                        reach,
                    })
                }
                _ => None,
            })
        })
        .await
    }

    /// Sets a user's password hash and ends their sessions, all but the
    /// one whose token is `keep` (a person changing their own password).
    pub async fn set_password(
        &self,
        user_id: i64,
        hash: String,
        keep: Option<String>,
    ) -> AppResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                (user_id, hash),
            )?;
            if n == 0 {
                return Err(AppError::not_found("user", user_id));
            }
            tx.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS DISTINCT FROM ?2",
                (user_id, keep.map(|t| token_hash(&t))),
            )?;
            Ok(())
        })
        .await
    }

    /// Activates or deactivates a user; deactivation ends their sessions at
    /// once (and `actor_for_token` refuses inactive users' tokens).
    pub async fn set_user_active(&self, user_id: i64, active: bool) -> AppResult<User> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET active = ?2 WHERE id = ?1",
                (user_id, active),
            )?;
            if n == 0 {
                return Err(AppError::not_found("user", user_id));
            }
            if !active {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
            }
            Ok(tx
                .query_row(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                    [user_id],
                    row_to_user,
                )?
                .0)
        })
        .await
    }

    /// Organisation settings (`org.name`, `gs1.company_prefix`).
    pub async fn set_settings(&self, pairs: Vec<(String, String)>) -> AppResult<()> {
        self.write(move |tx| {
            for (k, v) in pairs {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (k, v),
                )?;
            }
            Ok(())
        })
        .await
    }

    /// `admin init`: first administrator and settings, once.
    pub async fn initialise(
        &self,
        settings: Vec<(String, String)>,
        username: String,
        password_hash: String,
    ) -> AppResult<User> {
        self.write(move |tx| {
            let admins: i64 = tx.query_row(
                "SELECT count(*) FROM users WHERE role = 'administrator'",
                (),
                |r| r.get(0),
            )?;
            if admins > 0 {
                return Err(Reason::AlreadyInitialised.into());
            }
            for (k, v) in settings {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (k, v),
                )?;
            }
            insert_user(
                tx,
                &username,
                &username,
                &password_hash,
                Role::Administrator,
                None,
                None,
            )
        })
        .await
    }
}
