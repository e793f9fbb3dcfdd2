//! Short builders for the JSON Schemas of the descriptions, and the shared shapes (components)
//! of each API. The shapes follow `crate::shape` and `talkjs::shape`; they list the fields a
//! client can rely on and allow others (no `additionalProperties: false`).

use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema,
    SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};

use super::Ty;

pub fn string() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

/// A string or `null` (a field the shape always writes, empty as `null`).
pub fn string_or_null() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

pub fn integer() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Integer).into()
}

pub fn boolean() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Boolean).into()
}

/// Any JSON value.
pub fn any() -> RefOr<Schema> {
    // Typeless (`{}`): utoipa's default schema would say `type: object`.
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .into()
}

/// An object with any fields.
pub fn object() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Object).into()
}

/// An object of `values` keyed by any string (TalkJS's maps keyed by user id).
pub fn map_of(values: RefOr<Schema>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(values)))
        .into()
}

pub fn array(items: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(Schema::Array(ArrayBuilder::new().items(items).build()))
}

/// A reference to a shared shape of the same document.
pub fn shape(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// An object with these properties; the names in `required` must be present.
pub fn obj(props: &[(&str, RefOr<Schema>)], required: &[&str]) -> RefOr<Schema> {
    let mut b = ObjectBuilder::new().schema_type(Type::Object);
    for (name, schema) in props {
        b = b.property(*name, schema.clone());
    }
    for name in required {
        b = b.required(*name);
    }
    b.into()
}

/// The schema of a request field's type.
pub fn of(ty: Ty) -> RefOr<Schema> {
    match ty {
        Ty::Str => string(),
        Ty::Int => integer(),
        Ty::Bool => boolean(),
        Ty::Object => object(),
        Ty::StrList => array(string()),
        Ty::StrOrList => OneOfBuilder::new()
            .item(string())
            .item(array(string()))
            .into(),
        Ty::Any => any(),
    }
}

/// Rocket.Chat: `{success: true, ...fields}`.
pub fn rc_ok(props: &[(&str, RefOr<Schema>)]) -> RefOr<Schema> {
    let mut all = vec![("success", boolean())];
    all.extend(props.iter().cloned());
    let required: Vec<&str> = props.iter().map(|(n, _)| *n).chain(["success"]).collect();
    obj(&all, &required)
}

/// Rocket.Chat: a page of `items` under `key`, with `count`, `offset` and `total`.
pub fn rc_page(key: &str, items: RefOr<Schema>) -> RefOr<Schema> {
    rc_ok(&[
        (key, array(items)),
        ("count", integer()),
        ("offset", integer()),
        ("total", integer()),
    ])
}

/// TalkJS: `{data: [items]}`.
pub fn talk_list(items: RefOr<Schema>) -> RefOr<Schema> {
    obj(&[("data", array(items))], &["data"])
}

/// The Rocket.Chat API's shared shapes.
pub fn rocketchat_components() -> Vec<(&'static str, RefOr<Schema>)> {
    let user_ref = obj(
        &[("_id", string()), ("username", string_or_null())],
        &["_id"],
    );
    vec![
        // `error` is absent where Rocket.Chat answers a bare `API.v1.failure()` (an unknown
        // setting).
        (
            "Error",
            obj(
                &[
                    ("success", boolean()),
                    ("error", string()),
                    ("errorType", string()),
                    ("details", object()),
                ],
                &["success"],
            ),
        ),
        // Missing or wrong credentials: `{status: "error", message}`; Rocket.Chat 8's newer
        // endpoints (`rooms.bannedUsers`) answer `{success: false, error: "unauthorized"}`.
        (
            "Unauthorized",
            AnyOfBuilder::new()
                .item(obj(
                    &[
                        ("status", string()),
                        ("message", string()),
                        ("error", string()),
                    ],
                    &["status", "message"],
                ))
                .item(shape("Error"))
                .into(),
        ),
        ("UserRef", user_ref),
        (
            "User",
            obj(
                &[
                    ("_id", string()),
                    // `null` for a user made through the TalkJS-style API (no username).
                    ("username", string_or_null()),
                    ("active", boolean()),
                    ("roles", array(string())),
                ],
                &["_id", "username"],
            ),
        ),
        (
            "Room",
            obj(
                &[
                    ("_id", string()),
                    ("t", string()),
                    ("u", shape("UserRef")),
                    ("topic", string()),
                    ("ro", boolean()),
                    ("usersCount", integer()),
                    ("msgs", integer()),
                ],
                &["_id", "t"],
            ),
        ),
        (
            "Message",
            obj(
                &[
                    ("_id", string()),
                    ("rid", string()),
                    ("msg", string()),
                    ("u", shape("UserRef")),
                    ("tmid", string()),
                    ("mentions", array(object())),
                    ("channels", array(object())),
                ],
                &["_id", "rid", "msg", "u"],
            ),
        ),
        (
            "Subscription",
            obj(
                &[
                    ("_id", string()),
                    ("rid", string()),
                    ("u", shape("UserRef")),
                    ("t", string()),
                    ("name", string()),
                    ("open", boolean()),
                    ("alert", boolean()),
                    ("unread", integer()),
                ],
                &["_id", "rid", "u", "t"],
            ),
        ),
    ]
}

/// The TalkJS-style API's shared shapes.
pub fn talkjs_components() -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        (
            "Error",
            obj(
                &[
                    ("errorCode", string()),
                    ("reason", string()),
                    ("errors", any()),
                ],
                &["errorCode"],
            ),
        ),
        (
            "User",
            obj(
                &[
                    ("id", string()),
                    ("name", string()),
                    ("email", any()),
                    ("photoUrl", any()),
                    ("role", any()),
                    ("custom", object()),
                    ("createdAt", integer()),
                ],
                &["id"],
            ),
        ),
        (
            "Conversation",
            obj(
                &[
                    ("id", string()),
                    ("subject", any()),
                    ("topicId", any()),
                    ("photoUrl", any()),
                    ("welcomeMessages", any()),
                    ("custom", object()),
                    ("participants", object()),
                    ("createdAt", integer()),
                    ("lastMessage", any()),
                ],
                &["id"],
            ),
        ),
        (
            "Message",
            obj(
                &[
                    ("id", string()),
                    ("conversationId", string()),
                    ("type", string()),
                    ("senderId", any()),
                    ("text", any()),
                    ("custom", object()),
                    ("createdAt", integer()),
                ],
                &["id", "conversationId", "type"],
            ),
        ),
    ]
}
