//! Authentication and authorization: client secrets, access tokens, and the extractors handlers
//! use to demand a scope.

pub mod clients;
pub mod external;
pub mod guard;
pub mod keys;
pub mod rate_limit;
pub mod secrets;
pub mod tokens;

pub use guard::Authorized;
pub use tokens::{Principal, TokenService};
