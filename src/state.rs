//! What every request handler can reach: built once per app instance, never global.

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::secret_box::SecretBox;
use crate::services::auth::JwtKeys;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    /// Seals connector credentials (`DUIZHANG_CONNECTOR_KEY` or the key file).
    pub connector_secrets: Arc<SecretBox>,
}
