//! Who may read a room, as pure functions of the permission table, the reader's global roles,
//! the room's type and membership. The services (`Huddle::can_access`) and the realtime router
//! share them, so REST and live delivery cannot disagree.

use crate::model::RoomType;
use crate::permissions::PermissionTable;

/// Rocket.Chat's `canAccessRoom`: public rooms for holders of `view-c-room`, otherwise members
/// holding `view-joined-room` or `view-<t>-room`.
pub fn can_access(table: &PermissionTable, roles: &[String], t: RoomType, member: bool) -> bool {
    if t == RoomType::Channel && table.allows("view-c-room", roles) {
        return true;
    }
    // Static names: this runs per recipient of a message, so it must not allocate.
    let view_own_type = match t {
        RoomType::Channel => "view-c-room",
        RoomType::Group => "view-p-room",
        RoomType::Direct => "view-d-room",
    };
    member && (table.allows("view-joined-room", roles) || table.allows(view_own_type, roles))
}

/// The read rule of a room's message stream: access, or for a public channel the
/// `preview-c-room` permission.
pub fn can_stream_messages(
    table: &PermissionTable,
    roles: &[String],
    t: RoomType,
    member: bool,
) -> bool {
    can_access(table, roles, t, member)
        || (t == RoomType::Channel && table.allows("preview-c-room", roles))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::default_permissions;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn private_rooms_need_membership() {
        let t = PermissionTable::new(&default_permissions());
        let user = roles(&["user"]);
        assert!(can_access(&t, &user, RoomType::Group, true));
        assert!(!can_access(&t, &user, RoomType::Group, false));
        assert!(can_access(&t, &user, RoomType::Channel, false));
        assert!(!can_access(
            &t,
            &roles(&["guest"]),
            RoomType::Channel,
            false
        ));
    }
}
