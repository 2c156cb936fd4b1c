//! Reader daemons, their tokens and the readers bound to them: the one
//! place that inserts readers and turns a reader token into an actor.

use crate::store::db::{Db, OptionalExtension};

use super::register::require_exists;
use super::{paging, Store};
use crate::accounts::{new_token, token_hash, READER_PREFIX};
use crate::daemons::{CreatedDaemon, Daemon, NewDaemon};
use crate::error::{AppError, AppResult};
use crate::paging::Page;
use crate::policy::Actor;
use crate::register::{CreatedReader, NewReader, Reader, ReaderRole};
use crate::time::{now_ms, ts};

pub(crate) const READER_COLUMNS: &str = "id, name, role, location_id, created_at";

pub(crate) fn row_to_reader(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Reader> {
    let role: String = r.get(2)?;
    Ok(Reader {
        id: r.get(0)?,
        name: r.get(1)?,
        role: ReaderRole::parse(&role).unwrap_or(ReaderRole::Desk),
        location_id: r.get(3)?,
        created_at: ts(r.get(4)?),
    })
}

fn readers_of(c: &Db<'_>, daemon: i64) -> AppResult<Vec<Reader>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {READER_COLUMNS} FROM readers WHERE daemon = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([daemon], row_to_reader)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn insert_daemon(tx: &Db<'_>, new: NewDaemon) -> AppResult<CreatedDaemon> {
    let daemon_id = new.check()?;
    let token = new_token(READER_PREFIX);
    let now = now_ms();
    let expires_at = new.expires_at.map(|t| t.timestamp_millis());
    // A daemon id or reader name taken already is the UNIQUE constraint's
    // 409 naming the column.
    tx.execute(
        "INSERT INTO daemons (daemon_id, token_hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        (&daemon_id, token_hash(&token), now, expires_at),
    )?;
    let id = tx.last_insert_rowid()?;
    let mut readers = Vec::with_capacity(new.readers.len());
    for (i, r) in new.readers.iter().enumerate() {
        if let Some(l) = r.location_id {
            require_exists(tx, "locations", &format!("readers[{i}].location_id"), l)?;
        }
        let name = r.name.trim().to_owned();
        // `readers.token_hash` (NOT NULL UNIQUE since version 1) is no
        // longer read: the token is the daemon's. A random value fills it.
        tx.execute(
            "INSERT INTO readers (name, role, location_id, token_hash, created_at, daemon)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                &name,
                r.role.as_str(),
                r.location_id,
                token_hash(&new_token("unused_")),
                now,
                id,
            ),
        )?;
        readers.push(Reader {
            id: tx.last_insert_rowid()?,
            name,
            role: r.role,
            location_id: r.location_id,
            created_at: ts(now),
        });
    }
    Ok(CreatedDaemon {
        daemon: Daemon {
            id,
            daemon_id,
            readers,
            created_at: ts(now),
            revoked_at: None,
            expires_at: new.expires_at,
        },
        token,
    })
}

/// The daemon a reader token belongs to, if it is valid now (not revoked,
/// not expired), with the names of its readers.
pub(super) fn daemon_for_token(c: &Db<'_>, token: &str) -> AppResult<Option<Actor>> {
    let found = c
        .prepare_cached(
            "SELECT id, daemon_id FROM daemons WHERE token_hash = ?1
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
        )?
        .query_row((token_hash(token), now_ms()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    let Some((id, daemon_id)) = found else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached("SELECT name FROM readers WHERE daemon = ?1 ORDER BY id")?;
    let readers = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(Actor::Daemon {
        id,
        daemon_id,
        readers,
    }))
}

fn row_to_daemon(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Daemon> {
    Ok(Daemon {
        id: r.get(0)?,
        daemon_id: r.get(1)?,
        readers: Vec::new(),
        created_at: ts(r.get(2)?),
        revoked_at: r.get::<_, Option<i64>>(3)?.map(ts),
        expires_at: r.get::<_, Option<i64>>(4)?.map(ts),
    })
}

impl Store {
    /// Registers a daemon with the readers it drives, in one transaction;
    /// returns its token (only the hash is stored).
    pub async fn register_daemon(&self, new: NewDaemon) -> AppResult<CreatedDaemon> {
        new.check()?;
        self.write(move |tx| insert_daemon(tx, new)).await
    }

    /// Registers one reader as a daemon of its own (`daemon_id`, or the
    /// reader's name when none is given) and returns the daemon's token.
    pub async fn create_reader(
        &self,
        reader: NewReader,
        daemon_id: Option<String>,
    ) -> AppResult<CreatedReader> {
        let new = NewDaemon {
            daemon_id: daemon_id.unwrap_or_else(|| reader.name.clone()),
            readers: vec![reader],
            expires_at: None,
        };
        let created = self.register_daemon(new).await?;
        let reader = created.daemon.readers.into_iter().next().ok_or_else(|| {
            AppError::internal("a registered daemon came back without its reader")
        })?;
        Ok(CreatedReader {
            reader,
            token: created.token,
        })
    }

    /// Daemons with their readers, oldest first.
    pub async fn list_daemons(&self, page: i64, per_page: i64) -> AppResult<Page<Daemon>> {
        self.search_daemons(None, page, per_page).await
    }

    /// Daemons whose id, or one of whose readers' names, holds `q`.
    pub async fn search_daemons(
        &self,
        q: Option<String>,
        page: i64,
        per_page: i64,
    ) -> AppResult<Page<Daemon>> {
        let words = q.map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
        self.read(move |c| {
            let mut daemons = paging::page(
                c,
                "id, daemon_id, created_at, revoked_at, expires_at",
                "daemons d WHERE (?1 IS NULL OR instr(d.daemon_id, ?1) > 0
                    OR EXISTS (SELECT 1 FROM readers r WHERE r.daemon = d.id AND instr(r.name, ?1) > 0))",
                "id",
                &[words.clone().into()],
                (page, per_page),
                row_to_daemon,
            )?;
            for d in &mut daemons.items {
                d.readers = readers_of(c, d.id)?;
            }
            Ok(daemons)
        })
        .await
    }

    /// Revokes a daemon's token: from now on it is 401. Its readers and
    /// everything it sent stay.
    pub async fn revoke_daemon(&self, daemon_id: String) -> AppResult<()> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE daemons SET revoked_at = ?2 WHERE daemon_id = ?1 AND revoked_at IS NULL",
                (&daemon_id, now_ms()),
            )?;
            if n == 0 {
                return Err(AppError::not_found("daemon", &daemon_id));
            }
            Ok(())
        })
        .await
    }

    /// A new token for a daemon (shown once): the old one stops at once,
    /// and a revoked daemon works again with the new one.
    pub async fn rotate_daemon_token(&self, daemon_id: String) -> AppResult<String> {
        self.write(move |tx| {
            let token = new_token(READER_PREFIX);
            let n = tx.execute(
                "UPDATE daemons SET token_hash = ?2, revoked_at = NULL WHERE daemon_id = ?1",
                (&daemon_id, token_hash(&token)),
            )?;
            if n == 0 {
                return Err(AppError::not_found("daemon", &daemon_id));
            }
            Ok(token)
        })
        .await
    }

    pub async fn list_readers(&self, page: i64, per_page: i64) -> AppResult<Page<Reader>> {
        self.read(move |c| {
            paging::page(
                c,
                READER_COLUMNS,
                "readers",
                "id",
                &[],
                (page, per_page),
                row_to_reader,
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Readers registered before version 9 keep their tokens, each as a
    /// daemon of its own named as it last synced (else by its name).
    #[test]
    fn readers_before_version_9_become_daemons_keeping_their_tokens() -> AppResult<()> {
        let lite = rusqlite::Connection::open_in_memory()?;
        let key = crate::events::ChainKey::generate();
        let c = Db::Lite {
            conn: &lite,
            key: &key,
        };
        for (version, sql) in super::super::MIGRATIONS {
            if *version < 9 {
                lite.execute_batch(sql)?;
            }
        }
        let hash = |t: &str| token_hash(t);
        c.execute(
            "INSERT INTO readers (id, name, role, token_hash, created_at) VALUES
                 (1, 'gate-1', 'gate', ?1, 0), (2, 'hand-1', 'handheld', ?2, 0),
                 (3, 'edge-1', 'desk', ?3, 0)",
            (hash("whr_a"), hash("whr_b"), hash("whr_c")),
        )?;
        c.execute_batch(
            "INSERT INTO sync_daemons (daemon_id, applied_through, reader_id, updated_at) VALUES
                 ('edge-1', 40, 1, 5), ('edge-1:stocktake:gate-1', 3, 1, 9), ('old', 2, 1, 1)",
        )?;
        let v9 = super::super::MIGRATIONS
            .iter()
            .find(|(v, _)| *v == 9)
            .map(|(_, sql)| *sql)
            .unwrap_or_default();
        lite.execute_batch(v9)?;
        let as_daemon = |token: &str| -> AppResult<Option<(String, Vec<String>)>> {
            Ok(daemon_for_token(&c, token)?.and_then(|a| match a {
                Actor::Daemon {
                    daemon_id, readers, ..
                } => Some((daemon_id, readers)),
                _ => None,
            }))
        };
        assert_eq!(
            as_daemon("whr_a")?,
            Some(("edge-1".into(), vec!["gate-1".into()]))
        );
        assert_eq!(
            as_daemon("whr_b")?,
            Some(("hand-1".into(), vec!["hand-1".into()]))
        );
        assert_eq!(
            as_daemon("whr_c")?,
            Some(("edge-1#3".into(), vec!["edge-1".into()]))
        );
        assert_eq!(as_daemon("whr_x")?, None);
        // Revoked or expired tokens authenticate as nobody.
        c.execute(
            "UPDATE daemons SET revoked_at = 1 WHERE daemon_id = 'hand-1'",
            (),
        )?;
        c.execute(
            "UPDATE daemons SET expires_at = 1 WHERE daemon_id = 'edge-1'",
            (),
        )?;
        assert_eq!(as_daemon("whr_b")?, None);
        assert_eq!(as_daemon("whr_a")?, None);
        Ok(())
    }
}
