//! The state every request handler shares. Kept apart from `startup` (which wires the handlers
//! to it), so that handlers and guards depend on this and not on the module that imports them.

use crate::auth::rate_limit::TokenRateLimits;
use crate::auth::TokenService;
use crate::bridge::voltus::Bridge;
use crate::notify::Webhooks;
use crate::store::DynStore;
use std::sync::Arc;

/// Shared by every request handler.
pub struct AppState {
    pub store: DynStore,
    pub tokens: TokenService,
    pub token_limits: TokenRateLimits,
    pub public_url: Option<String>,
    /// Whether X-Forwarded-For names the client (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Callback checks for subscriptions.
    pub webhooks: Arc<Webhooks>,
    /// The Voltus bridge (its inbound webhooks and configuration limits).
    pub voltus: Arc<Bridge>,
}
