//! Huddle's domain: the model, the membership and permission rules, and the services (use cases)
//! that REST, realtime and the CLI all call. Knows nothing of HTTP or SQL.

pub mod cluster;
pub mod error;
pub mod events;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod ids;
pub mod mail;
pub mod model;
pub mod notify;
pub mod permissions;
pub mod policy;
pub mod realtime;
pub mod services;
pub mod settings;
pub mod store;
pub mod time;

pub use error::{Error, Failure, Result};
pub use model::*;
pub use services::{
    Actor, Changes, Huddle, NewDiscussion, RoomKind, RoomLookup, ThreadsOf, UserLookup,
};
pub use time::{Clock, ShiftedClock, SystemClock, Timestamp};
