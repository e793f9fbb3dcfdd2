//! Builds one API's OpenAPI document from its described routes.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, Paths, RefOr, Required, Schema,
};

use super::schema::{self, obj, of, rc_ok, shape};
use super::{Access, Api, Field, Route, Ty};

/// The description of `routes`, as served.
pub fn document(api: Api, routes: &[Route]) -> OpenApi {
    let mut paths = Paths::new();
    for r in routes {
        paths.add_path_operation(&r.path, vec![r.method.clone()], operation(api, r));
    }
    let (title, description, shapes) = match api {
        Api::RocketChat => (
            "Huddle: Rocket.Chat-compatible REST API",
            "Rocket.Chat's REST API (`/api/info`, `/api/v1/...`): parameters in the query string \
             (GET) or a JSON body; authenticated calls send `X-User-Id` and `X-Auth-Token` from \
             `POST /api/v1/login`. Errors: `{success: false, error, errorType?}` (401: \
             `{status: \"error\", message}`).",
            schema::rocketchat_components(),
        ),
        Api::TalkJs => (
            "Huddle: TalkJS-style REST API",
            "The TalkJS-style REST API under `/v1/{appId}/`: the backend API (a secret key or an \
             app JWT as `Authorization: Bearer`), the browser API under `/client/` (a user JWT, \
             or `X-Huddle-User-Id` with `X-Huddle-Signature`) and app administration. Errors: \
             `{errorCode, reason?}` with the HTTP status as the signal.",
            schema::talkjs_components(),
        ),
    };
    let mut components = ComponentsBuilder::new();
    for (name, s) in shapes {
        components = components.schema(name, s);
    }
    for (name, scheme) in security_schemes(api) {
        components = components.security_scheme(name, scheme);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(title)
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(description))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

fn security_schemes(api: Api) -> Vec<(&'static str, SecurityScheme)> {
    let header = |name: &str, what: &str| {
        let mut v = ApiKeyValue::new(name);
        v.description = Some(what.to_string());
        SecurityScheme::ApiKey(ApiKey::Header(v))
    };
    let bearer = |what: &str| {
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(what))
                .build(),
        )
    };
    let session = [
        (
            "userId",
            header("X-User-Id", "The user id `POST /api/v1/login` answered."),
        ),
        (
            "authToken",
            header(
                "X-Auth-Token",
                "The auth token `POST /api/v1/login` answered (or a personal access token).",
            ),
        ),
    ];
    match api {
        Api::RocketChat => session.to_vec(),
        Api::TalkJs => {
            let mut v = vec![
                (
                    "secretKey",
                    bearer("The app's secret key, or a JWT (HS256) signed with it (`tokenType: app`)."),
                ),
                (
                    "userToken",
                    bearer("A user JWT signed with the app's secret key (`sub`: the user id)."),
                ),
                (
                    "huddleUserId",
                    header("X-Huddle-User-Id", "The browser session's user id."),
                ),
                (
                    "huddleSignature",
                    header(
                        "X-Huddle-Signature",
                        "HMAC-SHA256 of the user id with the secret key (hex); not needed while identity verification is off.",
                    ),
                ),
            ];
            // An admin's Rocket.Chat session may use the backend API (the admin dashboard).
            v.extend(session);
            v
        }
    }
}

fn requirement(names: &[&str]) -> SecurityRequirement {
    let mut r = SecurityRequirement::default();
    for n in names {
        r = r.add(*n, Vec::<String>::new());
    }
    r
}

fn securities(access: Access) -> Option<Vec<SecurityRequirement>> {
    match access {
        Access::Public => None,
        Access::User => Some(vec![requirement(&["userId", "authToken"])]),
        Access::MaybeUser => Some(vec![
            SecurityRequirement::default(),
            requirement(&["userId", "authToken"]),
        ]),
        Access::Backend => Some(vec![
            requirement(&["secretKey"]),
            requirement(&["userId", "authToken"]),
        ]),
        Access::Client => Some(vec![
            requirement(&["userToken"]),
            requirement(&["huddleUserId", "huddleSignature"]),
        ]),
    }
}

fn takes_body(m: &HttpMethod) -> bool {
    matches!(m, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch)
}

fn parameter(f: &Field, at: ParameterIn) -> utoipa::openapi::path::Parameter {
    let mut p = ParameterBuilder::new()
        .name(f.name)
        .parameter_in(at)
        .required(if f.required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(of(f.ty)));
    if f.ty == Ty::StrList {
        p = p.style(Some(ParameterStyle::Form)).explode(Some(true));
    }
    p.build()
}

/// `{app}` and the like, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn path_param_description(name: &str) -> &'static str {
    match name {
        "app" => "The app id.",
        "uid" => "A user id.",
        "cid" => "A conversation id.",
        "mid" => "A message id.",
        "wid" => "A webhook id.",
        "did" => "A delivery id.",
        "kid" => "A key id.",
        "name" => "A username or room name.",
        _ => "An id.",
    }
}

fn operation(api: Api, r: &Route) -> utoipa::openapi::path::Operation {
    let op = &r.op;
    let mut b = OperationBuilder::new()
        .summary(Some(op.summary))
        .operation_id(Some(format!(
            "{}{}",
            method_name(&r.method),
            op_name(&r.path)
        )))
        .tag(tag(api, &r.path))
        .securities(securities(op.access));
    for name in path_params(&r.path) {
        b = b.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(path_param_description(name)))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1)),
                ))
                .build(),
        );
    }
    let in_body = takes_body(&r.method);
    for f in &op.query {
        b = b.parameter(parameter(f, ParameterIn::Query));
    }
    if !in_body {
        for f in &op.fields {
            b = b.parameter(parameter(f, ParameterIn::Query));
        }
    }
    let body: Option<RefOr<Schema>> = match (&op.body, in_body && !op.fields.is_empty()) {
        (Some(s), _) => Some(s.clone()),
        (None, true) => {
            let props: Vec<(&str, RefOr<Schema>)> =
                op.fields.iter().map(|f| (f.name, of(f.ty))).collect();
            let required: Vec<&str> = op
                .fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.name)
                .collect();
            Some(obj(&props, &required))
        }
        (None, false) => None,
    };
    if let Some(body) = body {
        b = b.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(body)).build(),
                )
                .build(),
        ));
    }
    let ok = match (op.ok_media, &op.ok) {
        (Some(media), _) => ResponseBuilder::new()
            .description("Success.")
            .content(media, ContentBuilder::new().build())
            .build(),
        (None, ok) => {
            let schema = ok.clone().unwrap_or_else(|| match api {
                Api::RocketChat => rc_ok(&[]),
                Api::TalkJs => schema::any(),
            });
            json_response("Success.", schema)
        }
    };
    b = b.response("200", ok);
    let error = || shape("Error");
    b = b.response("400", json_response("Invalid parameters.", error()));
    if op.access != Access::Public || op.checks_credentials {
        let unauthorized = match api {
            Api::RocketChat => shape("Unauthorized"),
            Api::TalkJs => error(),
        };
        b = b.response(
            "401",
            json_response("Missing or wrong credentials.", unauthorized),
        );
    }
    if op.access != Access::Public {
        b = b.response("403", json_response("Not allowed.", error()));
    }
    b = b.response("404", json_response("Not found.", error()));
    b = b.response(
        "503",
        json_response(
            "The store is unavailable; retry after `Retry-After`.",
            error(),
        ),
    );
    b.build()
}

fn json_response(what: &str, schema: RefOr<Schema>) -> utoipa::openapi::response::Response {
    ResponseBuilder::new()
        .description(what)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Patch => "patch",
        HttpMethod::Head => "head",
        HttpMethod::Options => "options",
        HttpMethod::Trace => "trace",
    }
}

/// `/api/v1/chat.postMessage` → `_api_v1_chat_postMessage`: unique per path.
fn op_name(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Groups operations: Rocket.Chat by resource (`chat` of `chat.postMessage`), TalkJS by the
/// first segment after the app id (`conversations`, `client`, ...).
fn tag(api: Api, path: &str) -> String {
    match api {
        Api::RocketChat => path
            .trim_start_matches("/api/v1/")
            .trim_start_matches('/')
            .split(['.', '/'])
            .next()
            .unwrap_or("api")
            .to_string(),
        Api::TalkJs => path.split('/').nth(3).unwrap_or("app").to_string(),
    }
}

#[cfg(test)]
pub(super) fn tag_of(api: Api, path: &str) -> String {
    tag(api, path)
}
