//! The served OpenAPI descriptions (`/api/openapi.json` for the Rocket.Chat API,
//! `/v1/openapi.json` for the TalkJS-style API), generated from the route table itself.
//!
//! Every route of both APIs is registered through [`ApiRouter`]: one call adds the handler to the
//! axum router and its description (method, path, parameters, auth, responses) to the table the
//! document is built from, so the two cannot drift apart. The API modules return an
//! `ApiRouter`, which has no way to add an undescribed route.

mod document;
pub mod schema;

use axum::handler::Handler;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use utoipa::openapi::{HttpMethod, RefOr, Schema};

pub use document::document;

use crate::state::AppState;

/// Which API a description belongs to: decides the auth schemes, where request parameters go
/// and the error shapes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Api {
    /// `/api/...`: parameters in the query (GET) or a JSON body, `X-User-Id` + `X-Auth-Token`,
    /// errors `{success: false, error, errorType?}`.
    RocketChat,
    /// `/v1/{appId}/...`: JSON bodies, bearer secret key / JWT, errors `{errorCode, reason?}`.
    TalkJs,
}

/// Who may call an operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Public,
    /// Rocket.Chat: a logged-in user (`X-User-Id` + `X-Auth-Token`).
    User,
    /// Rocket.Chat: anonymous or logged in.
    MaybeUser,
    /// TalkJS: the app's backend (secret key, app JWT, or an admin's Rocket.Chat session).
    Backend,
    /// TalkJS: a browser session (user JWT, or user id + signature).
    Client,
}

/// The JSON type of a request field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    Str,
    Int,
    Bool,
    Object,
    StrList,
    /// A string or a list of strings (e.g. TalkJS `email`).
    StrOrList,
    Any,
}

/// One request field: a query parameter of a GET/DELETE, a JSON body property otherwise.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

/// The description of one operation, written next to the route that serves it.
#[derive(Clone)]
pub struct Op {
    pub summary: &'static str,
    pub access: Access,
    pub fields: Vec<Field>,
    /// Query parameters of a POST/PUT (most take everything in the body).
    pub query: Vec<Field>,
    /// A body that is not an object of named fields (e.g. a map keyed by user id).
    pub body: Option<RefOr<Schema>>,
    /// The success body; `None`: the API's generic success shape.
    pub ok: Option<RefOr<Schema>>,
    /// The success body's media type when it is not JSON (avatars are images).
    pub ok_media: Option<&'static str>,
    /// A public operation that checks credentials sent in its body (`login`): may answer 401.
    pub checks_credentials: bool,
}

impl Op {
    fn new(summary: &'static str, access: Access) -> Op {
        Op {
            summary,
            access,
            fields: vec![],
            query: vec![],
            body: None,
            ok: None,
            ok_media: None,
            checks_credentials: false,
        }
    }

    /// Marks a public operation that checks credentials in its body (answers 401 on wrong ones).
    pub fn checks_credentials(mut self) -> Op {
        self.checks_credentials = true;
        self
    }

    /// A required field.
    pub fn req(mut self, name: &'static str, ty: Ty) -> Op {
        self.fields.push(Field {
            name,
            ty,
            required: true,
        });
        self
    }

    /// An optional field.
    pub fn opt(mut self, name: &'static str, ty: Ty) -> Op {
        self.fields.push(Field {
            name,
            ty,
            required: false,
        });
        self
    }

    /// Optional string fields, several at once.
    pub fn strs(mut self, names: &[&'static str]) -> Op {
        for n in names {
            self = self.opt(n, Ty::Str);
        }
        self
    }

    /// Rocket.Chat's paging and sorting parameters (`offset`, `count`, `sort`, `query`,
    /// `fields`), read by every list endpoint.
    pub fn paged(self) -> Op {
        self.opt("offset", Ty::Int)
            .opt("count", Ty::Int)
            .opt("sort", Ty::Str)
            .opt("query", Ty::Str)
            .opt("fields", Ty::Str)
    }

    /// Rocket.Chat's room selector: `roomId`, else `roomName` (one of them is needed).
    pub fn room(self) -> Op {
        self.opt("roomId", Ty::Str).opt("roomName", Ty::Str)
    }

    /// Rocket.Chat's one-user selector: `userId`, else `username` (or `user`).
    pub fn user_sel(self) -> Op {
        self.opt("userId", Ty::Str).opt("username", Ty::Str)
    }

    /// Rocket.Chat's many-users selector: `userIds`/`usernames`, or a single `userId`/`username`.
    pub fn users(self) -> Op {
        self.opt("userIds", Ty::StrList)
            .opt("usernames", Ty::StrList)
            .user_sel()
    }

    /// A query parameter of an operation whose other fields are in the body.
    pub fn query(mut self, name: &'static str, ty: Ty, required: bool) -> Op {
        self.query.push(Field { name, ty, required });
        self
    }

    pub fn body(mut self, schema: impl Into<RefOr<Schema>>) -> Op {
        self.body = Some(schema.into());
        self
    }

    pub fn ok(mut self, schema: impl Into<RefOr<Schema>>) -> Op {
        self.ok = Some(schema.into());
        self
    }

    pub fn ok_media(mut self, media: &'static str) -> Op {
        self.ok_media = Some(media);
        self
    }
}

/// An operation anyone may call.
pub fn public(summary: &'static str) -> Op {
    Op::new(summary, Access::Public)
}

/// A Rocket.Chat operation for a logged-in user.
pub fn user(summary: &'static str) -> Op {
    Op::new(summary, Access::User)
}

/// A Rocket.Chat operation that answers anonymous callers too.
pub fn maybe_user(summary: &'static str) -> Op {
    Op::new(summary, Access::MaybeUser)
}

/// A TalkJS backend operation.
pub fn backend(summary: &'static str) -> Op {
    Op::new(summary, Access::Backend)
}

/// A TalkJS browser operation.
pub fn client(summary: &'static str) -> Op {
    Op::new(summary, Access::Client)
}

/// A described route: what the document is built from.
#[derive(Clone)]
pub struct Route {
    pub method: HttpMethod,
    /// The axum path (`/v1/{app}/users/{uid}`); OpenAPI writes path parameters the same way.
    pub path: String,
    pub op: Op,
}

/// An axum router whose every route carries its description.
pub struct ApiRouter {
    router: Router<AppState>,
    routes: Vec<Route>,
}

impl Default for ApiRouter {
    fn default() -> Self {
        ApiRouter::new()
    }
}

impl ApiRouter {
    pub fn new() -> ApiRouter {
        ApiRouter {
            router: Router::new(),
            routes: vec![],
        }
    }

    /// Registers `method path` (axum merges several methods of one path) and its description.
    pub fn at(
        mut self,
        method: HttpMethod,
        path: &str,
        handler: MethodRouter<AppState>,
        op: Op,
    ) -> ApiRouter {
        self.router = self.router.route(path, handler);
        self.routes.push(Route {
            method,
            path: path.to_string(),
            op,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.at(HttpMethod::Get, path, axum::routing::get(h), op)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.at(HttpMethod::Post, path, axum::routing::post(h), op)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.at(HttpMethod::Put, path, axum::routing::put(h), op)
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.at(HttpMethod::Patch, path, axum::routing::patch(h), op)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, h: H, op: Op) -> Self {
        self.at(HttpMethod::Delete, path, axum::routing::delete(h), op)
    }

    pub fn merge(mut self, other: ApiRouter) -> ApiRouter {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }

    /// Mounts `other` under `prefix` (`/api/v1`), its described paths with it.
    pub fn nest(mut self, prefix: &str, other: ApiRouter) -> ApiRouter {
        self.router = self.router.nest(prefix, other.router);
        self.routes.extend(other.routes.into_iter().map(|mut r| {
            r.path = format!("{prefix}{}", r.path);
            r
        }));
        self
    }

    /// Sets the answer to paths no route matches (undescribed: it is not an operation).
    pub fn fallback<H: Handler<T, AppState>, T: 'static>(mut self, h: H) -> ApiRouter {
        self.router = self.router.fallback(h);
        self
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The router, with the description of these routes served at `doc_path` (public and
    /// cacheable: it changes only with the binary).
    pub fn into_router(self, api: Api, doc_path: &str) -> Router<AppState> {
        let body = document(api, &self.routes)
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        let body = axum::body::Bytes::from(body);
        self.router.route(
            doc_path,
            axum::routing::get(move || {
                let body = body.clone();
                async move { served(body) }
            }),
        )
    }
}

fn served(body: axum::body::Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
