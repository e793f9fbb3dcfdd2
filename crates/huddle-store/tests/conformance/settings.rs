//! Settings, permissions and roles.

#![allow(unused_imports)]

use super::*;

pub async fn settings_permissions_roles(store: Arc<dyn Store>) {
    let defaults = vec![
        Permission {
            id: "create-c".into(),
            roles: vec!["admin".into(), "user".into()],
            updated_at: Timestamp(1),
        },
        Permission {
            id: "delete-c".into(),
            roles: vec!["admin".into()],
            updated_at: Timestamp(1),
        },
    ];
    store.ensure_permissions(&defaults).await.unwrap();
    store
        .set_permission_roles("create-c", &["admin".to_string()])
        .await
        .unwrap();
    store.ensure_permissions(&defaults).await.unwrap(); // a restart keeps the admin's edit
    let perms = store.permissions().await.unwrap();
    assert_eq!(perms.len(), 2);
    assert_eq!(perms[0].id, "create-c");
    assert_eq!(perms[0].roles, vec!["admin"]);
    assert!(perms[0].updated_at > Timestamp(1));
    assert_eq!(perms[1], defaults[1]);
    let many: Vec<Permission> = (0..1200)
        .map(|i| Permission {
            id: format!("p{i:04}"),
            roles: vec![],
            updated_at: Timestamp(2),
        })
        .collect();
    store.ensure_permissions(&many).await.unwrap();
    assert_eq!(store.permissions().await.unwrap().len(), 1202);

    let roles = vec![
        Role {
            name: "admin".into(),
            scope: RoleScope::Users,
            description: "Admin".into(),
            protected: true,
        },
        Role {
            name: "owner".into(),
            scope: RoleScope::Subscriptions,
            description: "Owner".into(),
            protected: true,
        },
        Role {
            name: "bot".into(),
            scope: RoleScope::Users,
            description: String::new(),
            protected: false,
        },
    ];
    store.ensure_roles(&roles).await.unwrap();
    store.ensure_roles(&roles[..1]).await.unwrap();
    let got = store.roles().await.unwrap();
    assert_eq!(
        got,
        vec![roles[0].clone(), roles[2].clone(), roles[1].clone()]
    );

    let settings = vec![
        ("Site_Name".to_string(), serde_json::json!("Huddle")),
        ("API_Default_Count".to_string(), serde_json::json!(50)),
        (
            "Accounts_AllowDeleteOwnAccount".to_string(),
            serde_json::json!(false),
        ),
    ];
    store.ensure_settings(&settings).await.unwrap();
    store
        .set_setting("Site_Name", &serde_json::json!("Renamed"))
        .await
        .unwrap();
    store.ensure_settings(&settings).await.unwrap();
    store
        .set_setting("New_One", &serde_json::json!({"a": [1, 2]}))
        .await
        .unwrap();
    let got: BTreeMap<_, _> = store.settings().await.unwrap().into_iter().collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got["Site_Name"], serde_json::json!("Renamed"));
    assert_eq!(got["API_Default_Count"], serde_json::json!(50));
    assert_eq!(
        got["Accounts_AllowDeleteOwnAccount"],
        serde_json::json!(false)
    );
    assert_eq!(got["New_One"], serde_json::json!({"a": [1, 2]}));
}
