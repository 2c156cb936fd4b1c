//! Paging of listings: `?page=&per_page=` as clients send it, and the page
//! of results with the total that matched. The store's one SQL pager is
//! `store::paging::page`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{in_range, AppResult, Reason};

/// A page of results with the total that matched.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match. Counted at most [`COUNT_AHEAD`] rows past this
    /// page's first row: when more match, `total_exact` is false and
    /// `total` is a lower bound (there are more pages after the last one
    /// it implies; ask for a later page and the count moves on with it).
    pub total: i64,
    /// False when `total` is a lower bound (see `total`).
    pub total_exact: bool,
    pub page: i64,
    pub per_page: i64,
}

/// Rows past a page's first row that a listing counts before it stops and
/// calls its total a lower bound. Counting every match of a 10,000,000-row
/// register took ~25 ms per page view and bounded the register page at ~42
/// views/s; counting 10,000 still cost PostgreSQL ~3 ms of CPU per view
/// (docs/performance.md). A person pages a few pages on and searches for
/// the rest; each later page counts on from itself.
pub const COUNT_AHEAD: i64 = 1_000;

/// `?page=&per_page=` (1-based page, at most 500 per page).
#[derive(Debug, Clone, Copy, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Paging {
    pub fn resolve(self) -> AppResult<(i64, i64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page < 1 {
            return Err(Reason::StartsAtOne {
                field: "page".into(),
            }
            .into());
        }
        in_range("per_page", per_page, 1, 500)?;
        offset(page, per_page)?;
        Ok((page, per_page))
    }
}

/// Rows before page `page` (1-based) of `per_page`: checked, so a page
/// number too large to address is refused by name instead of wrapping.
pub fn offset(page: i64, per_page: i64) -> AppResult<i64> {
    page.checked_sub(1)
        .and_then(|p| p.checked_mul(per_page))
        .filter(|o| *o >= 0)
        .ok_or_else(|| Reason::PageOutOfRange { page }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paging(page: i64, per_page: i64) -> AppResult<(i64, i64)> {
        Paging {
            page: Some(page),
            per_page: Some(per_page),
        }
        .resolve()
    }

    #[test]
    fn pages_start_at_one_and_stay_addressable() {
        assert_eq!(Paging::default().resolve().ok(), Some((1, 50)));
        assert_eq!(offset(3, 50).ok(), Some(100));
        assert_eq!(
            paging(0, 50).err().and_then(|e| e.field),
            Some("page".into())
        );
        assert_eq!(
            paging(1, 501).err().and_then(|e| e.field),
            Some("per_page".into())
        );
        // An absurd page would overflow the offset: refused, naming the page.
        assert_eq!(
            paging(i64::MAX, 500).err().and_then(|e| e.field),
            Some("page".into())
        );
        assert!(offset(i64::MAX / 500 + 2, 500).is_err());
    }
}
