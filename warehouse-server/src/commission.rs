//! Tag commissioning (赋码): the EPC an asset's tag carries for life is a
//! GS1 GIAI-96 built from the organisation's company prefix and the asset
//! number, encoded by the shared codec.

use shared::epc::{encode_giai96, Epc};

use crate::error::{AppError, AppResult};

/// Settings key of the GS1 company prefix (set by `admin init`).
pub const COMPANY_PREFIX_KEY: &str = "gs1.company_prefix";

/// GIAI filter value "all others" (TDS table for GIAI).
pub const GIAI_FILTER: u8 = 0;

/// A company prefix is 6–12 digits (GS1 General Specifications).
pub fn check_company_prefix(prefix: &str) -> AppResult<()> {
    if !(6..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid(
            "company_prefix",
            format!("GS1 company prefix `{prefix}` must be 6–12 digits"),
        ));
    }
    Ok(())
}

/// The GIAI-96 EPC of an asset. GIAI-96 holds a numeric asset reference
/// only, so the asset number must be digits without leading zeros (other
/// numbers need GIAI-202, not offered yet).
pub fn giai96_for(company_prefix: &str, asset_number: &str) -> AppResult<Epc> {
    check_company_prefix(company_prefix)?;
    encode_giai96(GIAI_FILTER, company_prefix, asset_number).map_err(|e| {
        AppError::invalid(
            "asset_number",
            format!("asset number `{asset_number}` cannot be a GIAI-96 asset reference: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_giai96_from_prefix_and_number() -> AppResult<()> {
        let epc = giai96_for("0614141", "12345")?;
        assert_eq!(epc.bytes().len(), 12);
        assert_eq!(epc.bytes()[0], 0x34, "GIAI-96 header");
        assert!(epc
            .id_uri()
            .to_string()
            .starts_with("urn:epc:id:giai:0614141.12345"));
        assert!(giai96_for("0614141", "AB-1").is_err());
        assert!(giai96_for("12", "1").is_err());
        Ok(())
    }
}
