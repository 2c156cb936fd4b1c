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

/// What the document promises beyond each handler's own annotations, in
/// one place rather than on 55 handlers: every `{name}` in a path is a
/// declared path parameter (an integer id), and every operation declares
/// the error statuses the shell can answer for any route, with the
/// `{"error": …}` body.
struct Contract;

/// Statuses any operation may answer, from the extractors (400, 401, 413,
/// 422), the policy (403), the store (404, 409), the router (405) and the
/// serving guard (429, 503). `500` is never expected and stays undeclared.
const ERROR_STATUSES: &[(&str, &str)] = &[
    (
        "400",
        "the request could not be read (malformed JSON, bad path or query)",
    ),
    ("401", "no or expired credentials"),
    ("403", "authenticated but not allowed"),
    ("404", "the named record does not exist"),
    ("405", "the path does not take this method"),
    (
        "409",
        "conflicts with what is stored (duplicate, wrong state or stage)",
    ),
    ("413", "the body is larger than the limit"),
    (
        "422",
        "well-formed but invalid; `field` names the input, `errors` every field's problem",
    ),
    ("429", "too many live streams"),
    ("503", "the request ran past the server's time limit"),
];

impl Modify for Contract {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Ref, Required, ResponseBuilder, Type};
        for (path, item) in doc.paths.paths.iter_mut() {
            let names: Vec<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(n, _)| n))
                .collect();
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let params = op.parameters.get_or_insert_with(Vec::new);
                for name in &names {
                    let declared = params
                        .iter()
                        .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
                    if !declared {
                        let ty = if name.ends_with("id") {
                            ObjectBuilder::new().schema_type(Type::Integer).format(Some(
                                utoipa::openapi::SchemaFormat::KnownFormat(
                                    utoipa::openapi::KnownFormat::Int64,
                                ),
                            ))
                        } else {
                            ObjectBuilder::new().schema_type(Type::String)
                        };
                        params.push(
                            ParameterBuilder::new()
                                .name(*name)
                                .parameter_in(ParameterIn::Path)
                                .required(Required::True)
                                .schema(Some(ty))
                                .build(),
                        );
                    }
                }
                if params.is_empty() {
                    op.parameters = None;
                }
                for (status, why) in ERROR_STATUSES {
                    if !op.responses.responses.contains_key(*status) {
                        let body = ResponseBuilder::new()
                            .description(*why)
                            .content(
                                "application/json",
                                utoipa::openapi::ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                                    .build(),
                            )
                            .build();
                        op.responses.responses.insert((*status).into(), body.into());
                    }
                }
            }
        }
        close_step_bodies(doc);
    }
}

/// Each variant of an internally tagged body refuses unknown fields
/// (`deny_unknown_fields` on `StepBody` and on an idle finding's `Answer`),
/// which utoipa does not carry into the variants: say it here.
fn close_step_bodies(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    use utoipa::openapi::RefOr;
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in ["StepBody", "Answer"] {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(name) {
            for item in one_of.items.iter_mut() {
                if let RefOr::T(Schema::Object(o)) = item {
                    o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "warehouse-server", description = "RFID public-asset warehouse (公物仓) API. Errors are {\"error\": {\"code\", \"message\", \"field\"?}}."),
    security(("bearer" = [])),
    modifiers(&BearerAuth, &Contract),
    paths(
        api::login, api::logout, api::me, api::list_users, api::create_user,
        api::change_password, api::reset_password, api::set_user_active,
        api::list_units, api::create_unit, api::get_unit,
        api::list_regions, api::create_region, api::get_region,
        api::list_warehouses, api::create_warehouse, api::list_locations, api::create_location,
        api::list_categories, api::create_category, api::list_batches, api::create_batch,
        api::list_readers, api::create_reader, api::list_daemons, api::register_daemon,
        api::rotate_daemon_token, api::revoke_daemon_token, api::report_health,
        api::reader_health, api::ingest, api::foreign_sightings,
        api::search_assets, api::create_asset, api::export_assets, api::asset_by_epc,
        api::get_asset, api::update_asset, api::grant_emergency_pass,
        api::commission_tag, api::confirm_commission,
        api::open_stocktake, api::list_stocktakes, api::get_stocktake, api::resolve_stocktake,
        api::close_stocktake, api::stocktake_report,
        api::list_alarms, api::acknowledge_alarm, api::verify_log,
        api::confirm_inspection,
    ),
    components(schemas(
        crate::http::error::ErrorBody,
        crate::http::error::FieldProblem,
        shared::sync::ObservationBatch,
        shared::sync::Observation,
        shared::sync::ObservationKind,
        shared::sync::Commission,
        shared::sync::StockTakeLine,
        shared::sync::DaemonHealth,
        shared::sync::ReaderReport,
    ))
)]
pub struct ApiDoc;

/// The whole document: the foundation's routes plus the lifecycle's.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::workflow::WorkflowDoc::openapi());
    doc.merge(super::kits::KitsDoc::openapi());
    doc.merge(super::epcis::EpcisDoc::openapi());
    doc.merge(super::import::ImportDoc::openapi());
    doc.merge(super::acquisitions::AcquisitionsDoc::openapi());
    doc.merge(super::rentals::RentalsDoc::openapi());
    doc.merge(super::idle_findings::IdleDoc::openapi());
    doc.merge(super::supervision::SupervisionDoc::openapi());
    doc.merge(super::standards::StandardsDoc::openapi());
    // The lifecycle's operations are merged in after `ApiDoc`'s modifiers
    // ran; apply the contract to them too.
    Contract.modify(&mut doc);
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

    /// Every `{name}` in a path is declared `in: path`, every other
    /// parameter is `in: query`, and every operation declares its error
    /// statuses with the error body.
    #[test]
    fn parameters_and_errors_are_declared() -> Result<(), serde_json::Error> {
        let json = serde_json::to_value(document())?;
        let paths = json["paths"].as_object().into_iter().flatten();
        let mut operations = 0;
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                operations += 1;
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                for p in &params {
                    let name = p["name"].as_str().unwrap_or_default();
                    let templated = path.contains(&format!("{{{name}}}"));
                    let want = if templated { "path" } else { "query" };
                    assert_eq!(p["in"], want, "{method} {path}: {name}");
                }
                for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                    assert!(
                        params
                            .iter()
                            .any(|p| p["name"] == name && p["in"] == "path"),
                        "{method} {path}: {{{name}}} undeclared"
                    );
                }
                for (status, _) in ERROR_STATUSES {
                    let schema = &op["responses"][status]["content"]["application/json"]["schema"];
                    assert!(schema.is_object(), "{method} {path}: {status} undeclared");
                }
            }
        }
        assert!(operations >= 55, "only {operations} operations");
        Ok(())
    }

    /// The schema a `$ref` (or an inline schema) stands for.
    fn resolve<'a>(json: &'a serde_json::Value, s: &'a serde_json::Value) -> &'a serde_json::Value {
        match s["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some(name) => &json["components"]["schemas"][name],
            None => s,
        }
    }

    /// Every object a request body is made of says `additionalProperties:
    /// false`, as the server refuses unknown fields (`deny_unknown_fields`
    /// on every body type; shown against the server by the schemathesis
    /// run), and every enum the server parses lists its values.
    #[test]
    fn request_bodies_are_closed() -> Result<(), serde_json::Error> {
        let json = serde_json::to_value(document())?;
        let mut open = Vec::new();
        let mut checked = 0;
        for (path, item) in json["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let Some(schema) =
                    op["requestBody"]["content"]["application/json"]["schema"].as_object()
                else {
                    continue;
                };
                let mut stack = vec![serde_json::Value::Object(schema.clone())];
                while let Some(s) = stack.pop() {
                    let s = resolve(&json, &s).clone();
                    for key in ["oneOf", "anyOf", "allOf"] {
                        stack.extend(s[key].as_array().into_iter().flatten().cloned());
                    }
                    if s["properties"].is_object() {
                        checked += 1;
                        if s["additionalProperties"] != false {
                            open.push(format!("{method} {path}: {}", s["properties"]));
                        }
                        for p in s["properties"].as_object().into_iter().flatten() {
                            let p = resolve(&json, p.1);
                            if p["properties"].is_object() || p["oneOf"].is_array() {
                                stack.push(p.clone());
                            }
                        }
                    }
                }
            }
        }
        assert!(checked >= 30, "only {checked} body objects");
        assert!(open.is_empty(), "open body schemas:\n{}", open.join("\n"));
        Ok(())
    }

    /// The error body lists every field's problem (`FieldProblem`); a
    /// request says its stock check and overspending; the stage
    /// `over_budget` is one of the stages.
    #[test]
    fn checks_are_in_the_document() -> Result<(), serde_json::Error> {
        let json = serde_json::to_value(document())?;
        let schemas = &json["components"]["schemas"];
        let errors = &schemas["ErrorDetail"]["properties"]["errors"];
        assert_eq!(
            errors["items"]["$ref"], "#/components/schemas/FieldProblem",
            "{errors}"
        );
        assert!(schemas["FieldProblem"]["properties"]["message"].is_object());
        let request = &schemas["Request"]["properties"];
        assert!(request["overspent_fen"].is_object(), "{request}");
        assert!(request["stock"].is_object(), "{request}");
        assert!(schemas["StockCheck"]["properties"]["short_by"].is_object());
        let stages = schemas["Stage"]["enum"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            stages.contains(&serde_json::json!("over_budget")),
            "{stages:?}"
        );
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
