//! What every request handler can reach. The type lives with the services that use it
//! (`services::app_state`), so the services never point back up to this module.

pub use crate::services::app_state::AppState;
