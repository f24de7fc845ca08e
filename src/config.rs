//! All configuration, read in one place: command-line flags, each with an environment variable.
//!
//! Nothing else in the crate reads the environment.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "openadr3-vtn", version, about = "OpenADR 3.0.1 VTN server", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the VTN HTTP server (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage OAuth2 clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Print the OpenAPI document of this server as JSON.
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client (and its tenant if needed); prints {client_id, client_secret, tenant, scopes} as JSON.
    Create(ClientCreateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (created if missing, WAL mode) or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://openadr3-vtn.db")]
    pub database_url: String,

    /// Maximum database connections per process (read connections on SQLite).
    #[arg(long, env = "VTN_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Seconds a request waits for a database connection before failing with 503.
    #[arg(long, env = "VTN_DB_ACQUIRE_TIMEOUT_SECONDS", default_value_t = 5)]
    pub db_acquire_timeout_seconds: u64,
}

impl DatabaseArgs {
    pub fn pool_settings(&self) -> crate::store::PoolSettings {
        crate::store::PoolSettings {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_seconds.max(1)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "VTN_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Externally visible base URL (e.g. https://vtn.example.com), used for the token URL in
    /// GET /auth/server. Defaults to the scheme and Host of each request.
    #[arg(long, env = "VTN_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, env = "VTN_TOKEN_TTL_SECONDS", default_value_t = 1800)]
    pub token_ttl_seconds: u64,

    /// HS256 signing secret for access tokens (at least 32 bytes). When unset, a random secret is
    /// generated once and stored in the database, so every replica and restart shares it.
    #[arg(long, env = "VTN_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Largest accepted request body, in bytes (larger bodies get 413).
    #[arg(long, env = "VTN_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// Client id of the business-logic client created when the database has no client.
    #[arg(long, env = "VTN_BOOTSTRAP_CLIENT_ID", default_value = "admin")]
    pub bootstrap_client_id: String,

    /// Secret of that bootstrap client; when unset a random one is generated and printed once.
    #[arg(long, env = "VTN_BOOTSTRAP_CLIENT_SECRET", hide_env_values = true)]
    pub bootstrap_client_secret: Option<String>,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "VTN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter in tracing's EnvFilter syntax (e.g. "info", "openadr3_vtn=debug").
    #[arg(long, env = "VTN_LOG", default_value = "info")]
    pub log: String,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "VTN_WORKERS")]
    pub workers: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct ClientCreateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Tenant the client belongs to (created when missing).
    #[arg(long)]
    pub tenant: String,

    /// Comma-separated scopes, e.g. read_all,write_programs,write_events.
    #[arg(long)]
    pub scopes: String,

    /// Client id (default: generated).
    #[arg(long)]
    pub client_id: Option<String>,

    /// Client secret (default: generated and printed once).
    #[arg(long, hide_env_values = true)]
    pub client_secret: Option<String>,
}

impl ServeArgs {
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_seconds.max(1))
    }
}
