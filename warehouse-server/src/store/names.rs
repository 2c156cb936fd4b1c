//! Names for ids: what a person reads instead of a database id (unit and
//! category names, users' display names, a location's code and name, an
//! asset's number), looked up in one read per page for every id the page
//! shows ([`NameQuery`] collects them, [`Store::names`] answers), never
//! one query per row. The other way round, for forms: an asset number or a
//! location code typed by a person becomes the id the store works with
//! ([`Store::asset_ids_by_number`], [`Store::location_by_code`]).
//! Rendering the names is `http::web::words`.

use std::collections::{BTreeSet, HashMap};

use crate::store::db::Db;
use crate::store::dialect::Dialect;

use super::Store;
use crate::error::{AppResult, Reason};

/// The ids (and usernames) one page is about to show.
#[derive(Debug, Clone, Default)]
pub struct NameQuery {
    pub units: BTreeSet<i64>,
    pub users: BTreeSet<String>,
    pub locations: BTreeSet<i64>,
    pub categories: BTreeSet<i64>,
    pub assets: BTreeSet<i64>,
}

impl NameQuery {
    pub fn unit(&mut self, id: Option<i64>) -> &mut Self {
        self.units.extend(id);
        self
    }
    pub fn user(&mut self, username: Option<&str>) -> &mut Self {
        self.users.extend(username.map(str::to_owned));
        self
    }
    pub fn location(&mut self, id: Option<i64>) -> &mut Self {
        self.locations.extend(id);
        self
    }
    pub fn category(&mut self, id: Option<i64>) -> &mut Self {
        self.categories.extend(id);
        self
    }
    pub fn asset(&mut self, id: Option<i64>) -> &mut Self {
        self.assets.extend(id);
        self
    }
}

/// A location as people name it: its code, its name and its warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationName {
    pub code: String,
    pub name: String,
    pub warehouse: String,
}

/// An asset as the register prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetName {
    pub number: String,
    pub name: String,
}

/// The answer to a [`NameQuery`]; ids that name nothing are absent.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub units: HashMap<i64, String>,
    /// Username → display name.
    pub users: HashMap<String, String>,
    pub locations: HashMap<i64, LocationName>,
    pub categories: HashMap<i64, String>,
    pub assets: HashMap<i64, AssetName>,
}

/// A JSON array of the keys, bound as one parameter and read back with
/// `json_each` (one prepared statement whatever the number of ids).
fn json_keys<T: serde::Serialize>(keys: &BTreeSet<T>) -> String {
    serde_json::to_string(keys).unwrap_or_else(|_| "[]".into())
}

fn lookup<K, V>(
    c: &Db<'_>,
    sql: &str,
    keys: &BTreeSet<K>,
    row: impl Fn(&crate::store::db::Row<'_>) -> rusqlite::Result<(K, V)>,
) -> AppResult<HashMap<K, V>>
where
    K: serde::Serialize + std::hash::Hash + Eq,
{
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = match c.dialect() {
        Dialect::Sqlite => std::borrow::Cow::Borrowed(sql),
        Dialect::Postgres => {
            // The keys are numbers unless they are usernames.
            let ty = if sql.contains("username IN") {
                "TEXT"
            } else {
                "BIGINT"
            };
            sql.replace(
                "SELECT value FROM json_each(?1)",
                &format!(
                    "SELECT CAST(value AS {ty}) FROM \
                     jsonb_array_elements_text(CAST(CAST(?1 AS TEXT) AS jsonb)) AS t(value)"
                ),
            )
            .into()
        }
    };
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([json_keys(keys)], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn names(c: &Db<'_>, q: &NameQuery) -> AppResult<Names> {
    Ok(Names {
        units: lookup(
            c,
            "SELECT id, name FROM units WHERE id IN (SELECT value FROM json_each(?1))",
            &q.units,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?,
        users: lookup(
            c,
            "SELECT username, display_name FROM users
             WHERE username IN (SELECT value FROM json_each(?1))",
            &q.users,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?,
        locations: lookup(
            c,
            "SELECT l.id, l.code, l.name, w.name FROM locations l
             JOIN warehouses w ON w.id = l.warehouse_id
             WHERE l.id IN (SELECT value FROM json_each(?1))",
            &q.locations,
            |r| {
                Ok((
                    r.get(0)?,
                    LocationName {
                        code: r.get(1)?,
                        name: r.get(2)?,
                        warehouse: r.get(3)?,
                    },
                ))
            },
        )?,
        categories: lookup(
            c,
            "SELECT id, name FROM categories WHERE id IN (SELECT value FROM json_each(?1))",
            &q.categories,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?,
        assets: lookup(
            c,
            "SELECT id, asset_number, name FROM assets
             WHERE id IN (SELECT value FROM json_each(?1))",
            &q.assets,
            |r| {
                Ok((
                    r.get(0)?,
                    AssetName {
                        number: r.get(1)?,
                        name: r.get(2)?,
                    },
                ))
            },
        )?,
    })
}

/// Splits what a person typed into asset numbers (commas, Chinese commas,
/// spaces or new lines between them).
pub fn split_numbers(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ' ', '\n', '\t', '\r', ';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store {
    /// Names for every id of one page, in one read.
    pub async fn names(&self, q: NameQuery) -> AppResult<Names> {
        self.read(move |c| names(c, &q)).await
    }

    /// The ids of assets named by their numbers, in the order given; the
    /// first number that names no asset is refused (`NoSuchCode` on
    /// `field`, with the number as typed).
    pub async fn asset_ids_by_number(
        &self,
        field: &'static str,
        numbers: Vec<String>,
    ) -> AppResult<Vec<i64>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached("SELECT id FROM assets WHERE asset_number = ?1")?;
            numbers
                .iter()
                .map(|n| {
                    use crate::store::db::OptionalExtension;
                    stmt.query_row([n.as_str()], |r| r.get::<_, i64>(0))
                        .optional()?
                        .ok_or_else(|| {
                            Reason::NoSuchCode {
                                field: field.into(),
                                value: n.clone(),
                            }
                            .into()
                        })
                })
                .collect()
        })
        .await
    }

    /// The location a person names by its code ("A01"), or by warehouse
    /// and code ("主仓 A01", "主仓/A01") when several warehouses use the
    /// code. Case and surrounding blanks do not matter.
    pub async fn location_by_code(&self, field: &'static str, typed: String) -> AppResult<i64> {
        self.read(move |c| {
            let typed = typed.trim().to_owned();
            let mut by_code = c.prepare_cached(
                "SELECT l.id, w.name, l.code FROM locations l
                 JOIN warehouses w ON w.id = l.warehouse_id
                 WHERE lower(l.code) = lower(?1) ORDER BY l.id",
            )?;
            let found: Vec<(i64, String, String)> = by_code
                .query_map([typed.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let found = if found.is_empty() {
                // "仓库 货位": the last word is the code, the rest the warehouse.
                match typed.rsplit_once(['/', ' ', '\u{3000}']) {
                    Some((wh, code)) => {
                        let mut stmt = c.prepare_cached(
                            "SELECT l.id, w.name, l.code FROM locations l
                             JOIN warehouses w ON w.id = l.warehouse_id
                             WHERE lower(l.code) = lower(?1) AND w.name = ?2",
                        )?;
                        let rows: Vec<(i64, String, String)> = stmt
                            .query_map([code.trim(), wh.trim()], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                            })?
                            .collect::<Result<_, _>>()?;
                        rows
                    }
                    None => found,
                }
            } else {
                found
            };
            match found.as_slice() {
                [(id, _, _)] => Ok(*id),
                [] => Err(Reason::NoSuchCode {
                    field: field.into(),
                    value: typed,
                }
                .into()),
                many => Err(Reason::AmbiguousCode {
                    field: field.into(),
                    value: typed,
                    places: many.iter().map(|(_, w, l)| format!("{w} {l}")).collect(),
                }
                .into()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_split_on_what_people_type_between_them() {
        assert_eq!(
            split_numbers(" 1001，1002、 1003\n1004,,"),
            ["1001", "1002", "1003", "1004"]
        );
        assert!(split_numbers(" ，").is_empty());
    }

    #[test]
    fn ids_go_to_sql_as_one_json_array() {
        let ids: BTreeSet<i64> = [3, 1, 2].into_iter().collect();
        assert_eq!(json_keys(&ids), "[1,2,3]");
        let users: BTreeSet<String> = ["a\"b".to_owned()].into_iter().collect();
        assert_eq!(json_keys(&users), r#"["a\"b"]"#);
    }
}
