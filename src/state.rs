//! What every request handler can reach: built once per app instance, never global.

use crate::config::Settings;
use crate::db::DbPool;
use crate::services::auth::JwtKeys;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
}
