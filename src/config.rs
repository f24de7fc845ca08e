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
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage tenants: every object, client and identity provider belongs to one.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage OAuth2 clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage the tenants' external identity providers.
    #[command(subcommand)]
    Idp(IdpCommand),
    /// Read the audit log of administrative actions.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the EdDSA keys that sign access tokens (unused with VTN_JWT_SECRET).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the keys that seal secrets stored in the database (VTN_SECRET_KEYS).
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Print the OpenAPI document of this server as JSON.
    Openapi,
    /// Configure a tenant's Voltus bridge (dispatches become OpenADR events).
    #[command(subcommand)]
    Voltus(VoltusCommand),
    /// Run a Voltus API simulator (dispatches, telemetry, webhooks) for demos and tests.
    VoltusSimulator(SimulatorArgs),
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once, at start-up
pub enum VoltusCommand {
    /// Create or replace a tenant's Voltus bridge configuration; prints it (the API key
    /// redacted, the inbound webhook path in full).
    Set(VoltusSetArgs),
    /// Print a tenant's Voltus bridge configuration (the API key redacted).
    Show(TenantArgs),
    /// Print a tenant's Voltus bridge health: last poll, last error, counters.
    Status(TenantArgs),
    /// Remove a tenant's Voltus bridge configuration (the events it created stay).
    Delete(TenantArgs),
}

#[derive(Debug, Clone, Args)]
pub struct VoltusSetArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub policy: VoltusPolicyArgs,

    /// Tenant whose bridge this is.
    #[arg(long)]
    pub tenant: String,

    /// Voltus API base URL, e.g. https://api.voltus.co or https://sandbox.voltus.co.
    #[arg(long)]
    pub base_url: String,

    /// Voltus API key, sent as X-Voltus-API-Key (kept when omitted on a tenant already configured).
    #[arg(long, env = "VOLTUS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Publish every dispatch in this program (default: one program per Voltus program,
    /// named voltus-{program id}).
    #[arg(long)]
    pub program_name: Option<String>,

    /// Target value of a site's events: customer_location_id (falling back to the site id) or site_id.
    #[arg(long, default_value = "customer_location_id")]
    pub site_target: String,

    /// Target type of the events' targets.
    #[arg(long, default_value = "RESOURCE_NAME")]
    pub target_type: String,

    /// Seconds between two polls of GET /dispatches.
    #[arg(long, default_value_t = 30.0)]
    pub poll_interval_seconds: f64,

    /// Test dispatches: test_program (a separate '-test' program), publish, or skip.
    #[arg(long, default_value = "test_program")]
    pub test_dispatches: String,

    /// Cancelled dispatches: zero_window (the User Guide's cancellation) or delete.
    #[arg(long, default_value = "zero_window")]
    pub cancellation: String,

    /// Secret in the inbound webhook path (default: kept, or generated).
    #[arg(long, hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Forward USAGE reports of bridged events to Voltus as telemetry.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub telemetry: bool,

    /// Poll and accept webhooks (false: configured but paused).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub enabled: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, env = "VOLTUS_SIMULATOR_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on.
    #[arg(long, env = "VOLTUS_SIMULATOR_PORT", default_value_t = 8089)]
    pub port: u16,

    /// The API key clients must send as X-Voltus-API-Key.
    #[arg(
        long,
        env = "VOLTUS_SIMULATOR_API_KEY",
        default_value = "secret",
        hide_env_values = true
    )]
    pub api_key: String,
}

/// Which Voltus base URLs may be configured, and how often a tenant may be polled. Read by the
/// server and by `voltus set`.
#[derive(Debug, Clone, Args)]
pub struct VoltusPolicyArgs {
    /// Accept plain http:// Voltus base URLs (local simulator, tests). Off: https only.
    #[arg(long, env = "VTN_VOLTUS_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub voltus_allow_http: bool,

    /// Allow Voltus base URLs on loopback and private addresses (local simulator, tests).
    #[arg(long, env = "VTN_VOLTUS_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub voltus_allow_private: bool,

    /// Shortest poll interval a tenant may configure, in seconds (Voltus recommends 30).
    #[arg(long, env = "VTN_VOLTUS_MIN_POLL_SECONDS", default_value_t = 5.0)]
    pub voltus_min_poll_seconds: f64,
}

/// The Voltus bridge's workers.
#[derive(Debug, Clone, Args)]
pub struct VoltusArgs {
    /// Run the bridge's poller and telemetry sender in this process. Any number of replicas may
    /// run it against one PostgreSQL database: a lease lets one poll each tenant at a time.
    #[arg(long, env = "VTN_VOLTUS_BRIDGE", default_value_t = true, action = clap::ArgAction::Set)]
    pub voltus_bridge: bool,

    #[command(flatten)]
    pub policy: VoltusPolicyArgs,

    /// Bound on each request to Voltus, in seconds.
    #[arg(long, env = "VTN_VOLTUS_TIMEOUT_SECONDS", default_value_t = 10.0)]
    pub voltus_timeout_seconds: f64,

    /// How often the bridge looks for tenants whose poll is due, in milliseconds.
    #[arg(long, env = "VTN_VOLTUS_TICK_MS", default_value_t = 500)]
    pub voltus_tick_ms: u64,

    /// Longest wait between polls after failures (429, 5xx, unreachable), in seconds; a
    /// Retry-After from Voltus is honoured up to an hour.
    #[arg(long, env = "VTN_VOLTUS_MAX_BACKOFF_SECONDS", default_value_t = 300.0)]
    pub voltus_max_backoff_seconds: f64,

    /// How long a replica's claim on a tenant's poll lasts, in seconds (exceeds the timeout).
    #[arg(long, env = "VTN_VOLTUS_LEASE_SECONDS", default_value_t = 60.0)]
    pub voltus_lease_seconds: f64,
}

// The administration commands print JSON on stdout (the admin API's representation, except for
// `client create`, whose output is older) and are recorded in the audit log with actor "cli".

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new signing key: it signs from now on (running servers pick it up within 30 s),
    /// and the previous keys keep verifying until their tokens expire. Prints {kid}.
    Rotate(DatabaseArgs),
    /// List the signing keys that still verify tokens (public parts only).
    List(DatabaseArgs),
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Seal every stored secret again with the current (first) secret key, after adding a new
    /// key in front of VTN_SECRET_KEYS; afterwards the older keys can be removed. Prints, per
    /// column, how many values were sealed from plaintext and how many re-sealed.
    Reseal(DatabaseArgs),
    /// Print a new random secret key as a VTN_SECRET_KEYS entry, `<key id>:<base64>`. Opens no
    /// database.
    GenerateKey(GenerateKeyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct GenerateKeyArgs {
    /// Id of the new key (default: key-YYYYMMDD): 1 to 32 characters of A-Z, a-z, 0-9, '.',
    /// '_' and '-'.
    #[arg(long)]
    pub kid: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints {id, enabled, createdAt}.
    Create(TenantArgs),
    /// List the tenants.
    List(DatabaseArgs),
    /// Disable a tenant: its clients get no tokens, and their issued tokens stop working.
    Disable(TenantArgs),
    /// Enable a disabled tenant.
    Enable(TenantArgs),
    /// Delete a tenant with everything it owns (programs, events, clients, identity providers).
    Delete(TenantArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TenantArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Tenant id: 1 to 64 characters of a-z, 0-9, '_' and '-'.
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client (and its tenant if needed); prints {client_id, client_secret, tenant, scopes} as JSON.
    Create(ClientCreateArgs),
    /// List clients (never their secrets).
    List(TenantFilterArgs),
    /// Give a client a new random secret, printed once; the old one stops working.
    RotateSecret(ClientIdArgs),
    /// Disable a client: it gets no tokens, and its issued tokens stop working.
    Disable(ClientIdArgs),
    /// Enable a disabled client.
    Enable(ClientIdArgs),
    /// Delete a client.
    Delete(ClientIdArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ClientIdArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Client id.
    pub client_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct TenantFilterArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Only those of this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IdpCommand {
    /// Register a tenant's identity provider, whose tokens then act in that tenant.
    Add(Box<IdpAddArgs>),
    /// List the registered identity providers.
    List(TenantFilterArgs),
    /// Unregister an identity provider by its id.
    Delete(IdpIdArgs),
}

#[derive(Debug, Clone, Args)]
pub struct IdpAddArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Tenant the provider's tokens act in.
    #[arg(long)]
    pub tenant: String,

    /// The `iss` of its tokens (one provider per issuer).
    #[arg(long)]
    pub issuer: String,

    /// The `aud` its tokens must carry.
    #[arg(long)]
    pub audience: String,

    /// URL of its JSON Web Key Set (http or https).
    #[arg(long)]
    pub jwks_url: String,

    /// Claim holding scopes (a space-separated string or an array).
    #[arg(long, default_value = "scope")]
    pub scope_claim: String,

    /// Claim holding role names, mapped to scopes with --role-scope.
    #[arg(long)]
    pub roles_claim: Option<String>,

    /// ROLE=SCOPE,SCOPE: the scopes a role grants; repeat for several roles.
    #[arg(long = "role-scope", value_name = "ROLE=SCOPES")]
    pub role_scopes: Vec<String>,

    /// Claim naming the VEN a VEN token is bound to (one string): needed by --role ven, and by
    /// --role mapped with --ven-role.
    #[arg(long)]
    pub ven_claim: Option<String>,

    /// Which role the provider's tokens act in: bl (all business logic), ven (all bound to the
    /// VEN in --ven-claim) or mapped (by --roles-claim: --bl-role and --ven-role values).
    #[arg(long, value_parser = ["bl", "ven", "mapped"])]
    pub role: String,

    /// With --role mapped: a --roles-claim value that makes a token business logic; repeat or
    /// separate with commas for several.
    #[arg(long = "bl-role", value_name = "VALUE", value_delimiter = ',')]
    pub bl_roles: Vec<String>,

    /// With --role mapped: a --roles-claim value that makes a token a VEN's; repeat or separate
    /// with commas for several.
    #[arg(long = "ven-role", value_name = "VALUE", value_delimiter = ',')]
    pub ven_roles: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct IdpIdArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Identity provider id (from `idp list`).
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit entries, newest first.
    List(AuditListArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuditListArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Only the entries concerning this tenant.
    #[arg(long)]
    pub tenant: Option<String>,

    /// Number of entries to skip.
    #[arg(long, default_value_t = 0)]
    pub skip: i64,

    /// Maximum number of entries (at most 50).
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
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

    #[command(flatten)]
    pub secrets: SecretKeyArgs,
}

impl DatabaseArgs {
    pub fn pool_settings(&self) -> crate::store::PoolSettings {
        crate::store::PoolSettings {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_seconds.max(1)),
        }
    }

    /// Opens the database (migrating it, and sealing secrets still in plaintext) with the
    /// secret keys these arguments name.
    pub async fn connect(&self) -> anyhow::Result<crate::store::DynStore> {
        let secrets = self.secrets.cipher(&self.database_url)?;
        crate::store::connect(&self.database_url, &self.pool_settings(), secrets).await
    }
}

/// The keys that seal secrets stored in the database (signing keys' private halves, Voltus API
/// keys): `<key id>:<base64 of 32 bytes>` entries, the current key first, separated by commas
/// or newlines. Every process that opens the database needs them: server, replicas, CLI.
#[derive(Debug, Clone, Default, Args)]
pub struct SecretKeyArgs {
    /// The keys themselves. Unset (and no file) on SQLite: the key file beside the database
    /// (`<database file>.key`, created on first start). Required on PostgreSQL (one of the two).
    #[arg(long, env = "VTN_SECRET_KEYS", hide_env_values = true)]
    pub secret_keys: Option<String>,

    /// A file holding the keys in the same format, e.g. a mounted Kubernetes Secret.
    #[arg(long, env = "VTN_SECRET_KEYS_FILE")]
    pub secret_keys_file: Option<std::path::PathBuf>,
}

impl SecretKeyArgs {
    /// The keyring for the database at `database_url`, validated (errors name the setting).
    pub fn cipher(&self, database_url: &str) -> anyhow::Result<crate::store::sealed::SecretCipher> {
        let source = crate::store::sealed::KeySource {
            keys: self.secret_keys.as_deref(),
            keys_file: self.secret_keys_file.as_deref(),
        };
        crate::store::sealed::resolve(source, database_url)
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

    /// HS256 signing secret for access tokens (at least 32 bytes), for a single node that needs
    /// no published keys. When unset, tokens are signed with EdDSA keys that the server generates,
    /// stores in the database (shared by every replica), publishes at /.well-known/jwks.json and
    /// rotates with `openadr3-vtn keys rotate`.
    #[arg(long, env = "VTN_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Tokens issued per client id per minute (burst: a quarter of it, at least 5). Only
    /// requests with the right secret count, so no one else can use this budget up.
    #[arg(long, env = "VTN_TOKEN_RATE_PER_CLIENT", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub token_rate_per_client: u32,

    /// Token requests allowed per source address per minute (burst: a quarter of it, at least 5).
    #[arg(long, env = "VTN_TOKEN_RATE_PER_ADDRESS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub token_rate_per_address: u32,

    /// Token requests for a client id allowed per minute from addresses that did not get a
    /// token for it in the last 24 hours, and failures from those that did (burst: a quarter of
    /// it, at least 5). Beyond it, those requests go one at a time, each failure answered after
    /// a second.
    #[arg(long, env = "VTN_TOKEN_FAILURES_PER_CLIENT", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub token_failures_per_client: u32,

    /// The same budget per source address, for any client id (burst: a quarter of it, at least
    /// 5); beyond it, as for the client id.
    #[arg(long, env = "VTN_TOKEN_FAILURES_PER_ADDRESS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub token_failures_per_address: u32,

    /// Take the client address for rate limiting from X-Forwarded-For (set this only behind a
    /// proxy or ingress that overwrites that header; otherwise clients could forge it).
    #[arg(long, env = "VTN_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Shortest interval between two fetches of an external identity provider's JWKS (a token
    /// with an unknown key id triggers a refetch at most this often).
    #[arg(long, env = "VTN_JWKS_REFRESH_SECONDS", default_value_t = 60)]
    pub jwks_refresh_seconds: u64,

    /// Timeout of a JWKS fetch from an external identity provider.
    #[arg(long, env = "VTN_JWKS_TIMEOUT_SECONDS", default_value_t = 5)]
    pub jwks_timeout_seconds: u64,

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

    /// Serve Prometheus metrics at GET /metrics (at the root, beside /health and /ready).
    #[arg(long, env = "VTN_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,

    /// When set, GET /metrics requires `Authorization: Bearer <this token>`; unset, it is open
    /// to whoever reaches the port (keep it off the public ingress, as the chart does).
    #[arg(long, env = "VTN_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub webhooks: WebhookArgs,

    #[command(flatten)]
    pub voltus: VoltusArgs,
}

/// Bounds on what one request may ask of the server: the content of its JSON body (beyond
/// `VTN_MAX_BODY_BYTES`) and the time and connections a client may hold. Content over a bound is
/// answered 413 naming the field and the setting.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Items in an `intervals` array (of an event, or of one resource of a report).
    #[arg(long, env = "VTN_MAX_INTERVALS", default_value_t = ContentLimits::default().intervals)]
    pub max_intervals: usize,

    /// Items in a `values` array (the values of one payload or of one target).
    #[arg(long, env = "VTN_MAX_VALUES", default_value_t = ContentLimits::default().values)]
    pub max_values: usize,

    /// Items in a `targets` array (the targets of one object).
    #[arg(long, env = "VTN_MAX_TARGETS", default_value_t = ContentLimits::default().targets)]
    pub max_targets: usize,

    /// Items in any other array of a body (payloads, descriptors, resources, points, …).
    #[arg(long, env = "VTN_MAX_ARRAY_ITEMS", default_value_t = ContentLimits::default().array_items)]
    pub max_array_items: usize,

    /// Characters in any string of a body, object keys included. Fields the specification
    /// bounds more tightly (names and IDs: 128) keep their own bound.
    #[arg(long, env = "VTN_MAX_STRING_CHARS", default_value_t = ContentLimits::default().string_chars)]
    pub max_string_chars: usize,

    /// Seconds from a request's head to its response, reading the body included. Past it the
    /// request is abandoned (its transaction rolled back) and answered 408 if the client was
    /// still sending the body, 503 otherwise (for instance a database that does not answer).
    #[arg(long, env = "VTN_REQUEST_TIMEOUT_SECONDS", default_value_t = 30.0)]
    pub request_timeout_seconds: f64,

    /// Seconds a client has to send a request's head once connected (slow clients are cut
    /// with 408).
    #[arg(long, env = "VTN_CLIENT_HEADER_TIMEOUT_SECONDS", default_value_t = 5.0)]
    pub client_header_timeout_seconds: f64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, env = "VTN_KEEP_ALIVE_SECONDS", default_value_t = 30.0)]
    pub keep_alive_seconds: f64,

    /// Open connections per worker thread; past it new connections wait in the backlog.
    #[arg(long, env = "VTN_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Connections waiting to be accepted (the listen backlog).
    #[arg(long, env = "VTN_BACKLOG", default_value_t = 1_024)]
    pub backlog: u32,
}

impl LimitArgs {
    pub fn content(&self) -> ContentLimits {
        ContentLimits {
            intervals: self.max_intervals,
            values: self.max_values,
            targets: self.max_targets,
            array_items: self.max_array_items,
            string_chars: self.max_string_chars,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        seconds(self.request_timeout_seconds)
    }

    pub fn client_header_timeout(&self) -> Duration {
        seconds(self.client_header_timeout_seconds)
    }

    pub fn keep_alive(&self) -> Duration {
        seconds(self.keep_alive_seconds)
    }
}

/// A positive number of seconds as a duration (at least a millisecond; bad values cannot panic).
fn seconds(value: f64) -> Duration {
    if value.is_finite() && value > 0.001 {
        Duration::from_secs_f64(value.min(86_400.0 * 365.0))
    } else {
        Duration::from_millis(1)
    }
}

/// Webhook notifications to subscriptions' callback URLs.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Run the delivery worker in this process. Replicas that should only serve the API turn it
    /// off; any number of replicas may run it against one PostgreSQL database.
    #[arg(long, env = "VTN_WEBHOOK_DELIVERY", default_value_t = true, action = clap::ArgAction::Set)]
    pub webhook_delivery: bool,

    /// Accept plain http:// callback URLs (local demos, tests). Off: https only.
    #[arg(long, env = "VTN_WEBHOOK_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_http: bool,

    /// Call callbacks on loopback, private and link-local addresses. Off by default, so a
    /// subscription cannot make the server probe its own network (SSRF).
    #[arg(long, env = "VTN_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// Bound on each callback request (connect and response), in seconds.
    #[arg(long, env = "VTN_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10.0)]
    pub webhook_timeout_seconds: f64,

    /// Delays between attempts, in seconds (decimals allowed), each varied by ±20 %; a
    /// notification is tried once more than the list is long. The default follows Svix: 8
    /// attempts over about 27 hours.
    #[arg(
        long,
        env = "VTN_WEBHOOK_RETRY_SCHEDULE",
        value_delimiter = ',',
        default_value = "5,300,1800,7200,18000,36000,36000"
    )]
    pub webhook_retry_schedule: Vec<f64>,

    /// Notifications sent at the same time by one process.
    #[arg(long, env = "VTN_WEBHOOK_CONCURRENCY", default_value_t = 16)]
    pub webhook_concurrency: usize,

    /// Of those, at most this many to one subscriber (the client that created the subscriptions)
    /// at a time, so a receiver that hangs, or a subscriber with many callbacks, holds only its
    /// share of the slots.
    #[arg(
        long,
        env = "VTN_WEBHOOK_CONCURRENCY_PER_SUBSCRIBER",
        default_value_t = 2
    )]
    pub webhook_concurrency_per_subscriber: usize,

    /// Of those, at most this many to the subscribers of one tenant at a time, so one tenant
    /// cannot delay another's notifications. Must not exceed VTN_WEBHOOK_CONCURRENCY.
    #[arg(long, env = "VTN_WEBHOOK_CONCURRENCY_PER_TENANT", default_value_t = 8)]
    pub webhook_concurrency_per_tenant: usize,

    /// Distinct callback URLs one subscription may name.
    #[arg(long, env = "VTN_WEBHOOK_MAX_CALLBACKS", default_value_t = 8)]
    pub webhook_max_callbacks: usize,

    /// How often the worker looks for work written by other replicas and for retries that are
    /// due, in milliseconds (work of its own process starts at once).
    #[arg(long, env = "VTN_WEBHOOK_POLL_MS", default_value_t = 500)]
    pub webhook_poll_ms: u64,

    /// How long a claimed change or delivery stays leased to a worker before another may take it
    /// over (a crashed worker's work is redone after this), in seconds. Must exceed the timeout.
    #[arg(long, env = "VTN_WEBHOOK_LEASE_SECONDS", default_value_t = 60.0)]
    pub webhook_lease_seconds: f64,

    /// Finished deliveries (and their status) are kept this many hours, then purged.
    #[arg(long, env = "VTN_WEBHOOK_RETENTION_HOURS", default_value_t = 72)]
    pub webhook_retention_hours: u64,
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

    /// bl (business logic), ven or admin; fixes the scopes allowed. Default: admin when the
    /// scopes include admin, ven when --ven-name is given, bl otherwise.
    #[arg(long)]
    pub role: Option<String>,

    /// The VEN name a VEN client is bound to.
    #[arg(long)]
    pub ven_name: Option<String>,

    /// Client id (default: generated).
    #[arg(long)]
    pub client_id: Option<String>,

    /// Client secret (default: generated and printed once).
    #[arg(long, hide_env_values = true)]
    pub client_secret: Option<String>,
}

impl ClientCreateArgs {
    pub fn role(&self, scopes: &[crate::domain::Scope]) -> anyhow::Result<crate::domain::Role> {
        use crate::domain::{Role, Scope};
        Ok(match &self.role {
            Some(role) => Role::parse(role).map_err(anyhow::Error::msg)?,
            None if scopes.contains(&Scope::Admin) => Role::Admin,
            None if self.ven_name.is_some() => Role::Ven,
            None => Role::BusinessLogic,
        })
    }
}

impl ServeArgs {
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_seconds.max(1))
    }
}

/// Where the OpenADR 3.0.1 API is served. A constant, not a setting: clients and the
/// published document expect it; the Voltus bridge names its webhook path under it.
pub const BASE_PATH: &str = "/api/openadr/v1";

/// The bounds on request bodies (`VTN_MAX_*`), registered as app data; `api::limits` checks
/// bodies against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLimits {
    pub intervals: usize,
    pub values: usize,
    pub targets: usize,
    pub array_items: usize,
    pub string_chars: usize,
}

impl Default for ContentLimits {
    /// The defaults of `LimitArgs`.
    fn default() -> Self {
        Self {
            intervals: 10_000,
            values: 1_000,
            targets: 100,
            array_items: 10_000,
            string_chars: 4_096,
        }
    }
}
