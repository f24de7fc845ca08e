//! Authentication: client secrets, access tokens and their signing keys, external identity
//! providers, and the token endpoint's rate limits. The extractors that demand a scope in a
//! handler's signature are HTTP concerns and live in `api::guard`.

pub mod clients;
pub mod external;
pub mod keys;
pub mod principal;
pub mod rate_limit;
pub mod secrets;
pub mod tokens;

pub use tokens::{Principal, TokenService};
