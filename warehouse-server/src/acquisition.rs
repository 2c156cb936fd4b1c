//! Every way an asset arrives (取得方式). Besides the purchase chain and
//! a plain registration, an agency receives assets by transfer-in from
//! another agency (调入), by donation (接受捐赠), as the leftovers of a
//! dissolved temporary body that an agency files on the body's behalf —
//! its staff no longer exist to do it (撤销临时机构移交) —, and as
//! confiscated (罚没) or unclaimed (无主) property handed to the public
//! warehouse (公物仓), which in practice keeps and disposes of such
//! property for the agencies that decided on it. One acquisition records
//! the source with its details and document and creates one or several
//! assets in stock; each asset keeps its source and an event in its
//! history. The rules here are pure; storage is
//! `store::acquisitions`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, Reason};
use crate::input::{optional_text, parse_date, string_enum};
use crate::register::{Condition, NewAsset};

string_enum! {
    /// Where an asset came from (取得方式), kept on the asset.
    AssetSource {
        /// 采购 — the purchase chain (a procurement batch).
        Purchase = "purchase",
        /// 登记 — registered one at a time with no recorded source (and
        /// every asset registered before sources were kept, without a
        /// procurement batch).
        Register = "register",
        /// 调入 — transferred in from another agency.
        TransferIn = "transfer_in",
        /// 接受捐赠 — donated.
        Donation = "donation",
        /// 撤销临时机构移交 — left by a dissolved temporary body.
        DissolvedBody = "dissolved_body",
        /// 罚没 — confiscated.
        Confiscated = "confiscated",
        /// 无主 — unclaimed property.
        Unclaimed = "unclaimed",
    }
}

impl AssetSource {
    /// The sources an acquisition records (not the purchase chain, not a
    /// plain registration).
    pub const ACQUIRED: &'static [AssetSource] = &[
        AssetSource::TransferIn,
        AssetSource::Donation,
        AssetSource::DissolvedBody,
        AssetSource::Confiscated,
        AssetSource::Unclaimed,
    ];

    /// The source-detail fields an acquisition from this source must
    /// give; the others of [`DETAILS`] it may not.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Self::TransferIn => &["from_agency", "document_number"],
            Self::Donation => &["donor"],
            Self::DissolvedBody => &["body_name", "on_behalf_unit_id", "document_number"],
            Self::Confiscated => &["authority", "document_number"],
            Self::Unclaimed => &["authority"],
            Self::Purchase | Self::Register => &[],
        }
    }

    /// Fields besides the required ones an acquisition from this source
    /// may give.
    fn optional(self) -> &'static [&'static str] {
        match self {
            Self::Donation | Self::Unclaimed => &["document_number"],
            _ => &[],
        }
    }
}

/// The source-detail fields, each belonging to some sources.
pub const DETAILS: &[&str] = &[
    "from_agency",
    "donor",
    "body_name",
    "on_behalf_unit_id",
    "authority",
    "document_number",
];

/// An asset arriving with an acquisition: it goes into stock at the
/// acquisition's location.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcquiredAsset {
    pub asset_number: String,
    pub name: String,
    pub category_id: i64,
    pub model: Option<String>,
    /// Original value (原值) in fen: the transfer or donation document's
    /// value, or an appraisal.
    pub original_value_fen: i64,
    pub condition: Option<Condition>,
    pub notes: Option<String>,
}

/// An acquisition as clients send it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAcquisition {
    /// `transfer_in`, `donation`, `dissolved_body`, `confiscated` or
    /// `unclaimed`.
    pub source: AssetSource,
    /// The day the assets were received (取得日期, `YYYY-MM-DD`), not after
    /// today; it is also each asset's acquisition date (`purchase_date`).
    pub received_on: String,
    /// 文号: the transfer order, decision or agreement number. Required
    /// for `transfer_in`, `dissolved_body` and `confiscated`.
    pub document_number: Option<String>,
    /// `transfer_in`: the agency the assets come from.
    pub from_agency: Option<String>,
    /// `donation`: the donor (a person or an organisation).
    pub donor: Option<String>,
    /// `dissolved_body`: the dissolved temporary body's name.
    pub body_name: Option<String>,
    /// `dissolved_body`: the unit that files on the body's behalf.
    pub on_behalf_unit_id: Option<i64>,
    /// `confiscated`, `unclaimed`: the authority that decided.
    pub authority: Option<String>,
    /// The warehouse location the assets are put in.
    pub location_id: i64,
    pub notes: Option<String>,
    /// One to 500 assets.
    pub assets: Vec<AcquiredAsset>,
}

/// Most assets one acquisition creates.
pub const MAX_ASSETS: usize = 500;

impl NewAcquisition {
    /// Checks every field, all problems at once (each under its own field,
    /// `assets[2].category_id` for an asset's); `today` is Asia/Shanghai's.
    /// Returns the assets to register.
    pub fn check(&mut self, today: &str) -> AppResult<Vec<NewAsset>> {
        let mut errors: Vec<AppError> = Vec::new();
        let source = self.source;
        if !AssetSource::ACQUIRED.contains(&source) {
            errors.push(
                Reason::NotOneOf {
                    field: "source".into(),
                    value: source.as_str().into(),
                    allowed: &[
                        "transfer_in",
                        "donation",
                        "dissolved_body",
                        "confiscated",
                        "unclaimed",
                    ],
                }
                .into(),
            );
        }
        match parse_date("received_on", Some(self.received_on.trim())) {
            Ok(Some(d)) if d.as_str() > today => errors.push(
                Reason::AfterToday {
                    field: "received_on".into(),
                    today: today.into(),
                }
                .into(),
            ),
            Ok(Some(d)) => self.received_on = d,
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        let mut text = |field: &str, v: &mut Option<String>, max: usize| match optional_text(
            field,
            v.as_deref(),
            max,
        ) {
            Ok(t) => *v = t,
            Err(e) => errors.push(e),
        };
        text("document_number", &mut self.document_number, 100);
        text("from_agency", &mut self.from_agency, 200);
        text("donor", &mut self.donor, 200);
        text("body_name", &mut self.body_name, 200);
        text("authority", &mut self.authority, 200);
        text("notes", &mut self.notes, 2000);
        for field in DETAILS {
            let given = match *field {
                "from_agency" => self.from_agency.is_some(),
                "donor" => self.donor.is_some(),
                "body_name" => self.body_name.is_some(),
                "on_behalf_unit_id" => self.on_behalf_unit_id.is_some(),
                "authority" => self.authority.is_some(),
                _ => self.document_number.is_some(),
            };
            let required = source.required().contains(field);
            let allowed = required || source.optional().contains(field);
            if required && !given {
                errors.push(
                    Reason::RequiredForSource {
                        field: (*field).into(),
                        source: source.as_str().into(),
                    }
                    .into(),
                );
            } else if given && !allowed {
                errors.push(
                    Reason::NotForSource {
                        field: (*field).into(),
                        source: source.as_str().into(),
                    }
                    .into(),
                );
            }
        }
        if self.assets.is_empty() {
            errors.push(
                Reason::Required {
                    field: "assets".into(),
                }
                .into(),
            );
        }
        if self.assets.len() > MAX_ASSETS {
            errors.push(
                Reason::TooMany {
                    field: "assets".into(),
                    max: MAX_ASSETS,
                    given: Some(self.assets.len()),
                }
                .into(),
            );
        }
        let mut out = Vec::with_capacity(self.assets.len());
        let mut numbers: Vec<String> = Vec::new();
        for (i, a) in self.assets.iter().enumerate() {
            let mut n = NewAsset {
                asset_number: a.asset_number.clone(),
                name: a.name.clone(),
                category_id: a.category_id,
                model: a.model.clone(),
                original_value_fen: a.original_value_fen,
                purchase_date: Some(self.received_on.clone()),
                funding_source: None,
                batch_id: None,
                holder_location_id: Some(self.location_id),
                holder_unit_id: None,
                custodian: None,
                condition: a.condition,
                notes: a.notes.clone(),
            };
            match n.validate() {
                Ok(_) => {
                    if numbers.contains(&n.asset_number) {
                        errors.push(
                            AppError::from(Reason::Duplicate {
                                field: Some("asset_number".into()),
                                detail: format!("asset number {} twice", n.asset_number),
                            })
                            .with_field(format!("assets[{i}].asset_number")),
                        );
                    }
                    numbers.push(n.asset_number.clone());
                    out.push(n);
                }
                Err(e) => {
                    let field = e.field.clone().unwrap_or_default();
                    // The date is the acquisition's; the rest the asset's.
                    let field = if field == "purchase_date" {
                        "received_on".to_owned()
                    } else {
                        format!("assets[{i}].{field}")
                    };
                    errors.push(e.with_field(field));
                }
            }
        }
        AppError::collect(errors)?;
        Ok(out)
    }

    /// The source detail a field holds, as stored.
    pub fn detail(&self, field: &str) -> Option<String> {
        match field {
            "from_agency" => self.from_agency.clone(),
            "donor" => self.donor.clone(),
            "body_name" => self.body_name.clone(),
            "authority" => self.authority.clone(),
            "document_number" => self.document_number.clone(),
            _ => None,
        }
    }
}

/// A document attached to an acquisition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AcquisitionDocument {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// An acquisition as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Acquisition {
    pub id: i64,
    pub source: AssetSource,
    pub received_on: String,
    pub document_number: Option<String>,
    pub from_agency: Option<String>,
    pub donor: Option<String>,
    pub body_name: Option<String>,
    pub on_behalf_unit_id: Option<i64>,
    pub authority: Option<String>,
    pub location_id: i64,
    pub notes: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The assets it created.
    pub asset_ids: Vec<i64>,
    pub documents: Vec<AcquisitionDocument>,
}

/// A file to keep with an acquisition (type and size checked by the
/// caller with `workflow::check_document`).
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn donation() -> NewAcquisition {
        NewAcquisition {
            source: AssetSource::Donation,
            received_on: "2026-11-30".into(),
            document_number: None,
            from_agency: None,
            donor: Some("某公司".into()),
            body_name: None,
            on_behalf_unit_id: None,
            authority: None,
            location_id: 1,
            notes: None,
            assets: vec![AcquiredAsset {
                asset_number: "JZ-1".into(),
                name: "投影仪".into(),
                category_id: 1,
                model: None,
                original_value_fen: 350_000,
                condition: None,
                notes: None,
            }],
        }
    }

    #[test]
    fn a_donation_needs_its_donor_and_takes_no_agency() {
        assert!(donation().check("2026-12-01").is_ok());
        let mut a = donation();
        a.donor = Some("  ".into());
        a.from_agency = Some("某局".into());
        let e = a
            .check("2026-12-01")
            .err()
            .map(|e| e.field_problems().len());
        assert_eq!(e, Some(2));
    }

    #[test]
    fn received_after_today_and_twice_numbered_assets_are_refused() {
        let mut a = donation();
        a.received_on = "2026-12-02".into();
        let e = a.check("2026-12-01").err();
        assert_eq!(e.and_then(|e| e.field), Some("received_on".into()));
        let mut a = donation();
        let again = a.assets[0].clone();
        a.assets.push(again);
        let e = a.check("2026-12-01").err();
        assert_eq!(
            e.and_then(|e| e.field),
            Some("assets[1].asset_number".into())
        );
    }

    #[test]
    fn purchase_is_no_acquisition() {
        let mut a = donation();
        a.source = AssetSource::Purchase;
        a.donor = None;
        assert_eq!(
            a.check("2026-12-01").err().and_then(|e| e.field),
            Some("source".into())
        );
    }
}
