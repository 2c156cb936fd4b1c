//! The OpenAPI document served at `/api/v1/openapi.json`, generated from
//! the handlers' annotations and the types they exchange. The daemon's
//! wire types come from `shared` (its `openapi` feature), so their schema is
//! derived from the very types both sides (de)serialize.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super as api;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "warehouse-server", description = "RFID public-asset warehouse (公物仓) API. Errors are {\"error\": {\"code\", \"message\", \"field\"?}}."),
    security(("bearer" = [])),
    modifiers(&BearerAuth),
    paths(
        api::login, api::logout, api::me, api::list_users, api::create_user,
        api::change_password, api::reset_password, api::set_user_active,
        api::list_units, api::create_unit, api::get_unit,
        api::list_warehouses, api::create_warehouse, api::list_locations, api::create_location,
        api::list_categories, api::create_category, api::list_batches, api::create_batch,
        api::list_readers, api::create_reader, api::list_daemons, api::register_daemon,
        api::rotate_daemon_token, api::revoke_daemon_token, api::ingest, api::foreign_sightings,
        api::search_assets, api::create_asset, api::export_assets, api::asset_by_epc,
        api::get_asset, api::update_asset, api::grant_emergency_pass,
        api::commission_tag, api::confirm_commission,
        api::open_stocktake, api::list_stocktakes, api::get_stocktake, api::resolve_stocktake,
        api::close_stocktake, api::stocktake_report,
        api::list_alarms, api::acknowledge_alarm, api::verify_log,
    ),
    components(schemas(
        crate::http::error::ErrorBody,
        shared::sync::ObservationBatch,
        shared::sync::Observation,
        shared::sync::ObservationKind,
        shared::sync::Commission,
        shared::sync::StockTakeLine,
    ))
)]
pub struct ApiDoc;

/// The whole document: the foundation's routes plus the lifecycle's.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::workflow::WorkflowDoc::openapi());
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_every_route() -> Result<(), serde_json::Error> {
        let json = serde_json::to_value(document())?;
        let paths = json["paths"].as_object().map(|p| p.len()).unwrap_or(0);
        assert!(paths >= 40, "only {paths} paths documented");
        assert!(json["paths"]["/api/v1/readers/observations"]["post"].is_object());
        assert!(json["paths"]["/api/v1/requests/{id}/steps"]["post"].is_object());
        Ok(())
    }

    #[test]
    fn observation_schema_names_every_field_the_type_writes() -> Result<(), serde_json::Error> {
        let json = serde_json::to_value(ApiDoc::openapi())?;
        let schema = &json["components"]["schemas"]["Observation"];
        let sample = serde_json::json!({"epc":"01","reader":"r","antenna":1,
            "first_seen":"2026-01-01T00:00:00Z","last_seen":"2026-01-01T00:00:00Z",
            "count":1,"peak_rssi":null,"kind":"seen","stocktake_id":7});
        let o: shared::sync::Observation = serde_json::from_value(sample)?;
        let back = serde_json::to_value(o)?;
        let keys: Vec<&String> = back
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .collect();
        assert!(keys.iter().any(|k| *k == "stocktake_id"));
        for key in keys {
            assert!(
                schema["properties"][key].is_object(),
                "Observation schema lacks `{key}`"
            );
        }
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        assert!(!required.contains(&serde_json::json!("stocktake_id")));
        assert!(
            json["components"]["schemas"]["Commission"]["properties"]["commission_id"].is_object()
        );
        // A stock-take's lines are the shared wire type, by reference.
        assert_eq!(
            json["components"]["schemas"]["Reconciliation"]["properties"]["lines"]["items"]["$ref"],
            "#/components/schemas/StockTakeLine"
        );
        assert!(
            json["components"]["schemas"]["StockTakeLine"]["properties"]["outcome"].is_object()
        );
        Ok(())
    }
}
