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
            id: "admin".into(),
            name: "admin".into(),
            scope: RoleScope::Users,
            description: "Admin".into(),
            protected: true,
            updated_at: Timestamp(3),
        },
        Role {
            id: "owner".into(),
            name: "owner".into(),
            scope: RoleScope::Subscriptions,
            description: "Owner".into(),
            protected: true,
            updated_at: Timestamp(3),
        },
        Role {
            id: "bot".into(),
            name: "bot".into(),
            scope: RoleScope::Users,
            description: String::new(),
            protected: false,
            updated_at: Timestamp(3),
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

/// Roles made, renamed and deleted as `roles.create`/`update`/`delete` do: ids apart from names,
/// unique names, deletions remembered for `roles.sync`.
pub async fn roles_crud_and_removed_roles(store: Arc<dyn Store>) {
    let support = Role {
        id: "r-support".into(),
        name: "support".into(),
        scope: RoleScope::Subscriptions,
        description: "Tier 1".into(),
        protected: false,
        updated_at: Timestamp(10),
    };
    store.insert_role(&support).await.unwrap();
    let taken = Role {
        id: "r-other".into(),
        ..support.clone()
    };
    assert!(matches!(
        store.insert_role(&taken).await,
        Err(Error::Conflict(_))
    ));
    let renamed = Role {
        name: "support2".into(),
        description: "Tier 2".into(),
        updated_at: Timestamp(20),
        ..support.clone()
    };
    assert!(store.update_role(&renamed).await.unwrap());
    assert!(!store
        .update_role(&Role {
            id: "missing".into(),
            ..renamed.clone()
        })
        .await
        .unwrap());
    let roles = store.roles().await.unwrap();
    assert_eq!(roles, vec![renamed.clone()]);
    let other = Role {
        id: "r-x".into(),
        name: "x".into(),
        ..support.clone()
    };
    store.insert_role(&other).await.unwrap();
    assert!(matches!(
        store
            .update_role(&Role {
                name: "support2".into(),
                ..other.clone()
            })
            .await,
        Err(Error::Conflict(_))
    ));
    assert!(store.delete_role("r-support", Timestamp(30)).await.unwrap());
    assert!(!store.delete_role("r-support", Timestamp(31)).await.unwrap());
    let removed = store.removed_roles_since(Timestamp(29)).await.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].id, "r-support");
    assert_eq!(removed[0].name, "support2");
    assert_eq!(removed[0].updated_at, Timestamp(30));
    assert!(store
        .removed_roles_since(Timestamp(30))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.roles().await.unwrap(), vec![other]);
}
