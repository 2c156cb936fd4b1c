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
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

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
