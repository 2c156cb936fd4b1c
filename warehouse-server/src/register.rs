//! The asset register (台账): units, warehouses and locations, categories,
//! procurement batches, readers, users and assets — their types and the
//! validation of what clients send. Storage is [`crate::store`]'s job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppResult, Reason};
use crate::input::{optional_text, parse_date, required_text, string_enum};
use crate::money::amount;
use crate::policy::Role;

string_enum! {
    /// Where an asset is in its life (see DESIGN.md "Asset lifecycle").
    AssetState {
        /// 在库 — in a warehouse location.
        InStock = "in_stock",
        /// 调配 — held by a unit.
        Allocated = "allocated",
        /// 出借 — lent with a due date.
        OnLoan = "on_loan",
        InTransit = "in_transit",
        /// 虚拟仓 — idle at a unit, offered to others.
        ListedIdle = "listed_idle",
        UnderRepair = "under_repair",
        DisposalPending = "disposal_pending",
        Lost = "lost",
        /// 处置 — terminal.
        Disposed = "disposed",
    }
}

string_enum! {
    Condition { New = "new", Good = "good", Worn = "worn", Damaged = "damaged" }
}

string_enum! {
    /// What a reader is for: exit gate, keeper's desk, handheld stock-takes.
    ReaderRole { Gate = "gate", Desk = "desk", Handheld = "handheld" }
}

string_enum! {
    /// Level in the "one network": province, city, county, or a plain unit.
    UnitLevel { Province = "province", City = "city", County = "county", Unit = "unit" }
}

string_enum! {
    /// Level of a region in the network (三级联网): 省/自治区, 市, 县/区.
    RegionLevel { Province = "province", City = "city", County = "county" }
}

impl RegionLevel {
    /// The level a region of this level sits under (None: the top).
    pub fn parent(self) -> Option<RegionLevel> {
        match self {
            Self::Province => None,
            Self::City => Some(Self::Province),
            Self::County => Some(Self::City),
        }
    }

    /// 省 / 市 / 县.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Province => "省",
            Self::City => "市",
            Self::County => "县",
        }
    }
}

/// A region of the network and the agency (机关事务管理局) that runs its
/// warehouses.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Region {
    pub id: i64,
    pub name: String,
    pub level: RegionLevel,
    pub parent_id: Option<i64>,
    pub agency: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegion {
    pub name: String,
    pub level: RegionLevel,
    /// The region one level up; none for a province.
    pub parent_id: Option<i64>,
    /// The agency's name; default `<name>机关事务管理局`.
    pub agency: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
    pub level: UnitLevel,
    /// The region the unit belongs to (None: not placed yet).
    pub region_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// 编制人数: its staff count, which per-staff configuration standards
    /// use (set by an administrator).
    pub staff_count: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    pub name: String,
    pub parent_id: Option<i64>,
    pub level: Option<UnitLevel>,
    #[serde(default)]
    pub region_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Warehouse {
    pub id: i64,
    pub name: String,
    pub address: Option<String>,
    /// The region whose agency runs it (None: not placed yet).
    pub region_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouse {
    pub name: String,
    pub address: Option<String>,
    #[serde(default)]
    pub region_id: Option<i64>,
    /// The warehouse's GS1 location as an SGLN pure identity URI
    /// (`urn:epc:id:sgln:0614141.12345.0`) when it has a GLN; the EPCIS
    /// export names it as readPoint/bizLocation (docs/epcis.md).
    #[serde(default)]
    pub sgln: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Location {
    pub id: i64,
    pub warehouse_id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    pub code: String,
    pub name: String,
    /// The location's SGLN pure identity URI when it has a GLN (see
    /// [`NewWarehouse::sgln`]).
    #[serde(default)]
    pub sgln: Option<String>,
}

/// An SGLN pure identity URI (`urn:epc:id:sgln:CompanyPrefix.LocationRef.Ext`)
/// as the GS1 EPC codec reads it, or a 422 on `field` saying why.
pub fn sgln(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = |detail: String| -> crate::error::AppError {
        Reason::BadField {
            field: field.into(),
            detail,
        }
        .into()
    };
    if !v.starts_with("urn:epc:id:sgln:") {
        return Err(bad(format!(
            "`{v}` is not an SGLN pure identity URI (urn:epc:id:sgln:…)"
        )));
    }
    let epc = shared::epc::encode_uri(v, Some(0)).map_err(|e| bad(e.to_string()))?;
    Ok(Some(epc.id_uri().to_string()))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
}

/// 批次 — one procurement batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Batch {
    pub id: i64,
    pub code: String,
    pub supplier: Option<String>,
    pub purchased_on: Option<String>,
    pub total_fen: Option<i64>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    pub code: String,
    pub supplier: Option<String>,
    pub purchased_on: Option<String>,
    pub total_fen: Option<i64>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reader {
    pub id: i64,
    pub name: String,
    pub role: ReaderRole,
    pub location_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReader {
    pub name: String,
    pub role: ReaderRole,
    pub location_id: Option<i64>,
}

/// A new reader and its token, shown this once (only its hash is kept).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedReader {
    pub reader: Reader,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub active: bool,
    /// Where the role acts (and below, for approvers, finance and
    /// administrators); `None`: the whole network.
    pub region_id: Option<i64>,
    /// 局长: an approver who gives the extra approval of requests beyond
    /// the configuration standard.
    pub agency_head: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub password: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    /// The region the person's role acts in; unit staff take their
    /// unit's when left out. Leave out for the whole network.
    #[serde(default)]
    pub region_id: Option<i64>,
}

impl NewUser {
    pub fn validate(&self) -> AppResult<()> {
        required_text("username", &self.username, 64)?;
        if !self
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(Reason::BadUsername.into());
        }
        crate::accounts::check_password_rules(&self.password)?;
        match (self.role, self.unit_id) {
            (Role::UnitStaff, None) => Err(Reason::UnitRequired.into()),
            _ => Ok(()),
        }
    }
}

/// An asset as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Asset {
    pub id: i64,
    pub asset_number: String,
    pub name: String,
    pub category_id: i64,
    pub model: Option<String>,
    /// Original value in fen (分).
    pub original_value_fen: i64,
    pub purchase_date: Option<String>,
    pub funding_source: Option<String>,
    pub batch_id: Option<i64>,
    /// Holder is either a warehouse location…
    pub holder_location_id: Option<i64>,
    /// …or a unit.
    pub holder_unit_id: Option<i64>,
    pub custodian: Option<String>,
    pub state: AssetState,
    pub condition: Condition,
    pub notes: Option<String>,
    /// Its state lets it pass an exit gate
    /// ([`crate::lifecycle::may_pass_gate`]); an approver's emergency pass
    /// is an event, read by the gate beside this ([`crate::gate`]).
    pub checkout_approved: bool,
    /// EPC of the bound tag (hex), if tagged.
    pub epc: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub last_seen_reader_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The region it is in: its holder unit's, or its warehouse's.
    pub region_id: Option<i64>,
    /// How it arrived (取得方式): `purchase`, `register` (no recorded
    /// source), or an acquisition's source.
    pub source: crate::acquisition::AssetSource,
    /// The acquisition that recorded its arrival, if any
    /// (`GET /api/v1/acquisitions/{id}`).
    pub acquisition_id: Option<i64>,
}

impl Asset {
    /// How an error names this asset (by its number, to people).
    pub fn asset_ref(&self) -> crate::error::AssetRef {
        crate::error::AssetRef::new(self.id, &self.asset_number)
    }

    pub fn scope(&self) -> crate::policy::Scope {
        crate::policy::Scope::held(self.holder_unit_id, self.region_id)
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    pub asset_number: String,
    pub name: String,
    pub category_id: i64,
    pub model: Option<String>,
    pub original_value_fen: i64,
    pub purchase_date: Option<String>,
    pub funding_source: Option<String>,
    pub batch_id: Option<i64>,
    pub holder_location_id: Option<i64>,
    pub holder_unit_id: Option<i64>,
    pub custodian: Option<String>,
    pub condition: Option<Condition>,
    pub notes: Option<String>,
}

/// Asset numbers: 1–40 of letters, digits, '-', '_', '.'.
pub fn check_asset_number(n: &str) -> AppResult<()> {
    if n.is_empty()
        || n.len() > 40
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Reason::BadAssetNumber { value: n.into() }.into());
    }
    Ok(())
}

impl NewAsset {
    /// Normalises in place; the state follows from the holder.
    pub fn validate(&mut self) -> AppResult<AssetState> {
        self.asset_number = self.asset_number.trim().to_owned();
        check_asset_number(&self.asset_number)?;
        self.name = required_text("name", &self.name, 200)?;
        self.model = optional_text("model", self.model.as_deref(), 200)?;
        self.funding_source = optional_text("funding_source", self.funding_source.as_deref(), 200)?;
        self.custodian = optional_text("custodian", self.custodian.as_deref(), 100)?;
        self.notes = optional_text("notes", self.notes.as_deref(), 2000)?;
        self.purchase_date = parse_date("purchase_date", self.purchase_date.as_deref())?;
        amount("original_value_fen", self.original_value_fen)?;
        match (self.holder_location_id, self.holder_unit_id) {
            (Some(_), None) => Ok(AssetState::InStock),
            (None, Some(_)) => Ok(AssetState::Allocated),
            _ => Err(Reason::OneHolder.into()),
        }
    }
}

/// Descriptive changes; absent fields stay, "" clears optional text.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    pub name: Option<String>,
    pub model: Option<String>,
    pub custodian: Option<String>,
    pub condition: Option<Condition>,
    pub notes: Option<String>,
    pub funding_source: Option<String>,
    /// Why the change was made (goes to the event log).
    #[serde(skip_serializing)]
    pub reason: Option<String>,
}

/// Search filters for the register.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssetQuery {
    /// Substring of name or asset number.
    pub q: Option<String>,
    /// Exact asset number.
    pub number: Option<String>,
    /// EPC (hex) of the bound tag.
    pub epc: Option<String>,
    pub category_id: Option<i64>,
    pub state: Option<AssetState>,
    pub holder_unit_id: Option<i64>,
    pub holder_location_id: Option<i64>,
    /// Only this region's assets and those of the regions below it (a
    /// city with its counties); a region outside the caller's reach is
    /// not found.
    pub region: Option<i64>,
    /// Only assets that arrived this way (取得方式): `purchase`,
    /// `register`, `transfer_in`, `donation`, `dissolved_body`,
    /// `confiscated`, `unclaimed`.
    pub source: Option<crate::acquisition::AssetSource>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A tag binding, current or past.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagBinding {
    pub epc: String,
    pub asset_id: i64,
    pub bound_at: DateTime<Utc>,
    pub unbound_at: Option<DateTime<Utc>>,
    pub unbind_reason: Option<String>,
}

/// The asset page: the asset, its tags and its whole timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetDetail {
    pub asset: Asset,
    pub tags: Vec<TagBinding>,
    pub timeline: Vec<crate::events::Event>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset() -> NewAsset {
        NewAsset {
            asset_number: " 000123 ".into(),
            name: "办公桌".into(),
            category_id: 1,
            model: Some("".into()),
            original_value_fen: 150000,
            purchase_date: Some("2024-03-01".into()),
            funding_source: None,
            batch_id: None,
            holder_location_id: Some(1),
            holder_unit_id: None,
            custodian: None,
            condition: None,
            notes: None,
        }
    }

    #[test]
    fn new_asset_validation_names_the_field() {
        let mut a = asset();
        assert_eq!(a.validate().ok(), Some(AssetState::InStock));
        assert_eq!(a.asset_number, "000123");
        assert_eq!(a.model, None);

        let mut a = asset();
        a.holder_unit_id = Some(2);
        assert_eq!(
            a.validate().err().and_then(|e| e.field),
            Some("holder_location_id".into())
        );
        let mut a = asset();
        a.purchase_date = Some("2024-13-01".into());
        assert_eq!(
            a.validate().err().and_then(|e| e.field),
            Some("purchase_date".into())
        );
        let mut a = asset();
        a.original_value_fen = -1;
        assert!(a.validate().is_err());
        assert!(check_asset_number("a b").is_err());
    }

    #[test]
    fn enums_round_trip_their_text() {
        for s in AssetState::ALL {
            assert_eq!(AssetState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ReaderRole::parse("gate"), Some(ReaderRole::Gate));
        assert_eq!(UnitLevel::parse("nope"), None);
    }
}
