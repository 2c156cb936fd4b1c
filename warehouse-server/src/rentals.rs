//! Rentals (管理+租用): when stock cannot meet an event, the shortfall is
//! rented from a registered supplier. A rental contract names the
//! supplier, the window, the cost and the items; each rented item gets a
//! temporary tag on arrival, is scanned out with the event and back, and
//! goes back to the supplier at the end. Rented items never enter the
//! register: they have no `assets` row, no event chain entry, and count in
//! no stock figure. Their cost shows per event in the `rentals` report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most items one rental contract may list.
pub const MAX_ITEMS: usize = 2000;

/// A supplier rentals are made from (registered once, chosen per rental).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupplier {
    pub name: String,
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Supplier {
    pub id: i64,
    pub name: String,
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

/// A rental contract as the keeper records it when the items arrive, each
/// with the temporary tag stuck on it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRental {
    pub supplier_id: i64,
    /// The loan (event) the rental serves.
    pub request_id: Option<i64>,
    pub contract_number: String,
    /// YYYY-MM-DD: the rental window.
    pub starts: String,
    pub ends: String,
    /// What the whole rental costs, in fen.
    pub cost_fen: i64,
    pub items: Vec<NewRentalItem>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRentalItem {
    /// What it is (e.g. 折叠椅).
    pub description: String,
    /// The category it stands in for (the shortfall it covers), if any.
    pub category_id: Option<i64>,
    /// The temporary tag's EPC (hex).
    pub epc: String,
}

/// A rental contract and its items as they stand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rental {
    pub id: i64,
    pub supplier_id: i64,
    pub supplier: String,
    pub request_id: Option<i64>,
    /// The event it serves: the loan's event name, else its reason.
    pub event: Option<String>,
    pub contract_number: String,
    pub starts: String,
    pub ends: String,
    pub cost_fen: i64,
    /// `open` until every item went back to the supplier, then `returned`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub items: Vec<RentalItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RentalItem {
    pub id: i64,
    pub description: String,
    pub category_id: Option<i64>,
    /// The temporary tag (hex).
    pub epc: String,
    /// `received` (at the warehouse), `out` (with the event), `back`
    /// (returned by the event), `returned` (to the supplier).
    pub status: String,
}

/// Temporary tags scanned at the desk.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RentalScan {
    pub epcs: Vec<String>,
}

/// Which status a desk scan moves a rented item from, and to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RentalMove {
    /// With the event: received → out.
    Out,
    /// Back from the event: out → back.
    Back,
}

impl RentalMove {
    pub fn from_to(self) -> (&'static str, &'static str) {
        match self {
            RentalMove::Out => ("received", "out"),
            RentalMove::Back => ("out", "back"),
        }
    }
}
