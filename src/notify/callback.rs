//! Which callback URLs the VTN may call, and the HTTP client it calls them with.
//!
//! Subscription callback URLs are supplied by clients (VENs, business logic), and
//! the VTN then makes HTTP requests to them from inside its own network. Left
//! unchecked that is a server-side request forgery (SSRF) hole: a client could
//! point a subscription at `http://169.254.169.254/` (cloud metadata), at the
//! database's admin port on `10.0.0.5`, or at the VTN itself, and use the VTN to
//! probe or poke at things only it can reach. [`CallbackPolicy`] closes that in
//! three layers:
//!
//! 1. [`CallbackPolicy::check_url`] refuses bad URLs up front, without network
//!    access, so that a client gets a clear 400 when it creates the subscription:
//!    wrong scheme, user info, the server's own host name, `localhost`, and IP
//!    literals in non-global ranges.
//! 2. [`CallbackPolicy::client`] builds a `reqwest::Client` whose DNS resolver
//!    drops every resolved address that [`CallbackPolicy::address_allowed`]
//!    refuses. A host *name* can point anywhere, and can change between the
//!    check and the request (DNS rebinding), so the only check that holds is the
//!    one made on the very addresses the connection is made to. The client also
//!    never follows redirects (a public URL could redirect to a private one),
//!    ignores proxy settings from the environment and bounds every request.
//! 3. [`CallbackPolicy::verify_echo`] performs the OpenADR 3 callback check, so a
//!    subscription is only accepted when the URL answers like a real receiver.
//!
//! IP-literal URLs never reach a DNS resolver, so layer 2 alone does not cover
//! them: **always run [`CallbackPolicy::check_url`] before sending to a callback
//! URL** (also when delivering notifications, since the policy may have changed
//! since the subscription was stored). [`CallbackPolicy::verify_echo`] does this
//! itself.

use std::error::Error as StdError;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Url;
use ring::rand::{SecureRandom, SystemRandom};

/// `User-Agent` of every callback request, so receivers can tell who calls them.
pub const USER_AGENT: &str = concat!("openadr3-vtn/", env!("CARGO_PKG_VERSION"));

/// Name of the query parameter carrying the echo value in [`CallbackPolicy::verify_echo`].
pub const ECHO_PARAM: &str = "echo";

/// How much of a callback's answer to [`CallbackPolicy::verify_echo`] is read:
/// an echo value is 32 characters, so anything near this size is wrong anyway,
/// and a hostile receiver must not be able to make the VTN buffer megabytes.
const MAX_ECHO_BODY: usize = 4 * 1024;

/// How many characters of a wrong answer are quoted back in the error message.
const MAX_QUOTED: usize = 64;

/// What the VTN may call back, and how long it waits.
#[derive(Debug, Clone)]
pub struct CallbackPolicy {
    /// Allow plain http:// callbacks (tests, local demos). Default false: https only.
    pub allow_http: bool,
    /// Allow callbacks to loopback, private (RFC 1918, fc00::/7), link-local
    /// (169.254/16, fe80::/10), CGNAT 100.64/10, unspecified, multicast,
    /// broadcast, documentation and other non-global addresses. Default false.
    pub allow_private: bool,
    /// Host names (lowercase, no port) that name this server itself (from its
    /// public URL); always refused unless allow_private.
    pub own_hosts: Vec<String>,
    /// Bound on each request (connect + whole response).
    pub timeout: Duration,
}

impl Default for CallbackPolicy {
    /// The strict policy: https only, global addresses only, 10 s per request.
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_private: false,
            own_hosts: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why a callback URL was refused or its check failed. The messages are meant
/// for the client that supplied the URL (they name no secret, and quote at most
/// 64 characters of what the receiver answered).
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// Not an absolute URL at all.
    #[error("callbackUrl is not a valid absolute URL ({0})")]
    InvalidUrl(String),
    /// A scheme other than http or https.
    #[error("callbackUrl must use https (scheme '{0}' is not supported)")]
    UnsupportedScheme(String),
    /// http:// while the policy allows https only.
    #[error("callbackUrl must use https (plain http is disabled on this server)")]
    HttpNotAllowed,
    /// No host in the URL.
    #[error("callbackUrl has no host")]
    MissingHost,
    /// `user:pass@` in the URL: credentials in URLs end up in logs; use a bearer token.
    #[error("callbackUrl must not contain a user name or password")]
    UserInfo,
    /// The host is one of the server's own names.
    #[error("callbackUrl names this server itself")]
    OwnHost,
    /// The host is, or resolves only to, addresses the policy refuses.
    #[error(
        "callbackUrl host resolves to a private or loopback address, which this server does not call"
    )]
    PrivateAddress,
    /// The bearer token cannot be sent in an HTTP header (e.g. it has a line break).
    #[error("the callback's bearer token is not a valid HTTP header value")]
    InvalidBearerToken,
    /// No complete answer within the policy's timeout.
    #[error("callback did not answer within {} s", secs(*.0))]
    Timeout(Duration),
    /// DNS, TCP or TLS failure before any answer.
    #[error("could not connect to callback: {0}")]
    Connect(String),
    /// The request failed after connecting (e.g. connection closed mid-answer).
    #[error("callback request failed: {0}")]
    Request(String),
    /// A 3xx answer. Redirects are never followed: one could lead to a private address.
    #[error("callback answered with a redirect (HTTP {0}), which this server does not follow")]
    Redirect(u16),
    /// Any other non-2xx answer.
    #[error("callback answered HTTP {0}")]
    Status(u16),
    /// A 2xx answer whose body is not the echo value (quoted, shortened).
    #[error("callback answered '{0}' instead of the echo value")]
    WrongEcho(String),
    /// The system's random number generator failed (no echo value could be made).
    #[error("could not generate an echo value for the callback check")]
    Random,
}

/// `1 s`, `1.5 s`: whole seconds without decimals.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.1}", d.as_secs_f64())
    }
}

impl CallbackPolicy {
    /// Syntax and policy check without network: absolute URL, scheme http/https
    /// (http only when allowed), host present, no userinfo (user:pass@), host is
    /// not one of own_hosts, and when the host is an IP literal (v4 or v6, incl.
    /// IPv4-mapped v6) it must be allowed by [`Self::address_allowed`]. The names
    /// `localhost` and `*.localhost` are refused like loopback literals (RFC 6761
    /// reserves them for loopback), unless allow_private.
    ///
    /// Host names are not resolved here: what they resolve to at request time is
    /// enforced by the resolver of [`Self::client`].
    pub fn check_url(&self, raw: &str) -> Result<Url, CallbackError> {
        let url = Url::parse(raw).map_err(|e| {
            // The url crate's ParseError cannot be named without depending on
            // that crate; its Display text is stable.
            let msg = e.to_string();
            if msg == "empty host" {
                CallbackError::MissingHost
            } else {
                CallbackError::InvalidUrl(msg)
            }
        })?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(CallbackError::HttpNotAllowed),
            other => return Err(CallbackError::UnsupportedScheme(truncate(other))),
        }
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h,
            _ => return Err(CallbackError::MissingHost),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(CallbackError::UserInfo);
        }
        let host = normalize_host(host);
        if !self.allow_private {
            if self.own_hosts.iter().any(|own| normalize_host(own) == host) {
                return Err(CallbackError::OwnHost);
            }
            if host == "localhost" || host.ends_with(".localhost") {
                return Err(CallbackError::PrivateAddress);
            }
        }
        // The url crate normalises IPv4 literals (also forms like `0x7f.1`) to
        // dotted quads and keeps IPv6 literals in brackets.
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !self.address_allowed(ip) {
                return Err(CallbackError::PrivateAddress);
            }
        }
        Ok(url)
    }

    /// Whether the VTN may connect to this address under the policy: with
    /// allow_private anything, otherwise only globally routable unicast
    /// addresses. IPv6 addresses that embed an IPv4 address (IPv4-mapped
    /// `::ffff:0:0/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the
    /// embedded IPv4 address, since that is where the packets end up.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        self.allow_private || is_global(ip)
    }

    /// The HTTP client for callbacks: redirects never followed, connect timeout
    /// and total timeout = self.timeout, a DNS resolver that drops addresses
    /// [`Self::address_allowed`] refuses and fails when none remain (this
    /// defeats DNS names pointing at private ranges and DNS rebinding, because
    /// the check is made on the addresses actually connected to), user agent
    /// [`USER_AGENT`], no proxy from the environment (a proxy would connect on
    /// our behalf, past the resolver's check), and https only unless allow_http.
    ///
    /// IP-literal URLs bypass the resolver: run [`Self::check_url`] before each
    /// request made with this client.
    pub fn client(&self) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .dns_resolver(Arc::new(PolicyResolver {
                policy: self.clone(),
            }))
            .user_agent(USER_AGENT)
            .no_proxy()
            .https_only(!self.allow_http)
            .build()
    }

    /// The OpenADR 3 callback check (3.1 Definition, "Subscriptions"): GET the
    /// callback URL with an added query parameter `echo=<random 32 hex chars>`
    /// (appended to any existing query string), with `Authorization: Bearer
    /// <token>` when `bearer_token` is Some. Succeeds iff the response status is
    /// 2xx and the body, trimmed of surrounding whitespace, equals the echo value
    /// exactly, or the body is JSON of the form `{"echo": "<value>"}` (some
    /// receivers answer JSON). Proving that the receiver can read the random
    /// value and send it back shows the URL leads to a willing receiver, not to
    /// some unrelated service that happens to answer 200.
    ///
    /// Runs [`Self::check_url`] first. Reads at most 4 KiB of the body. The whole
    /// check is bounded by self.timeout even if `client` was built with a longer
    /// one. Non-2xx ([`CallbackError::Status`]), 3xx ([`CallbackError::Redirect`],
    /// not followed), timeouts ([`CallbackError::Timeout`]), connection errors
    /// ([`CallbackError::Connect`], or [`CallbackError::PrivateAddress`] when the
    /// resolver refused every address) and a wrong body
    /// ([`CallbackError::WrongEcho`]) each give a distinct error.
    pub async fn verify_echo(
        &self,
        client: &reqwest::Client,
        raw_url: &str,
        bearer_token: Option<&str>,
    ) -> Result<(), CallbackError> {
        let mut url = self.check_url(raw_url)?;
        let echo = random_echo()?;
        url.query_pairs_mut().append_pair(ECHO_PARAM, &echo);

        let mut request = client.get(url);
        if let Some(token) = bearer_token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| CallbackError::InvalidBearerToken)?;
            // Keep the token out of any debug output of the request.
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }

        let exchange = async {
            let mut response = request.send().await.map_err(|e| self.map_error(e))?;
            let status = response.status();
            if status.is_redirection() {
                return Err(CallbackError::Redirect(status.as_u16()));
            }
            if !status.is_success() {
                return Err(CallbackError::Status(status.as_u16()));
            }
            let mut body = Vec::new();
            while body.len() < MAX_ECHO_BODY {
                match response.chunk().await.map_err(|e| self.map_error(e))? {
                    Some(chunk) => body.extend_from_slice(&chunk),
                    None => break,
                }
            }
            body.truncate(MAX_ECHO_BODY);
            Ok(body)
        };
        let body = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| CallbackError::Timeout(self.timeout))??;

        if echo_matches(&body, &echo) {
            Ok(())
        } else {
            Err(CallbackError::WrongEcho(quote(&body)))
        }
    }

    /// Sorts a reqwest error into the variants a client can act on. The URL is
    /// dropped from the message (its query may carry a client's token).
    pub fn map_error(&self, err: reqwest::Error) -> CallbackError {
        let err = err.without_url();
        if chain(&err).any(|e| e.downcast_ref::<RefusedByPolicy>().is_some()) {
            return CallbackError::PrivateAddress;
        }
        if err.is_timeout() {
            return CallbackError::Timeout(self.timeout);
        }
        // Skip reqwest's generic top line ("error sending request") when there
        // are more specific causes below it.
        let causes: Vec<String> = chain(&err).skip(1).map(|e| e.to_string()).collect();
        let detail = if causes.is_empty() {
            err.to_string()
        } else {
            let mut unique: Vec<String> = Vec::new();
            for c in causes {
                if unique.last() != Some(&c) {
                    unique.push(c);
                }
            }
            unique.join(": ")
        };
        let detail = truncate_to(&detail, 200);
        if err.is_connect() || (err.is_request() && !err.is_body() && !err.is_decode()) {
            CallbackError::Connect(detail)
        } else {
            CallbackError::Request(detail)
        }
    }
}

/// The error and all its sources, outermost first.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

/// Lowercase, without brackets around IPv6 literals and without a trailing dot,
/// so `Example.COM.` and `example.com` compare equal.
fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// 16 random bytes as 32 lowercase hex characters: unguessable, and safe in a
/// query string and a plain-text body without any escaping.
fn random_echo() -> Result<String, CallbackError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CallbackError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The echo value as plain text (surrounding whitespace ignored) or as
/// `{"echo": "<value>"}`.
fn echo_matches(body: &[u8], echo: &str) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let text = text.trim();
    if text == echo {
        return true;
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => {
            map.get(ECHO_PARAM).and_then(|v| v.as_str()) == Some(echo)
        }
        _ => false,
    }
}

/// A receiver's answer, shortened and with control characters blanked, for
/// [`CallbackError::WrongEcho`].
fn quote(body: &[u8]) -> String {
    truncate(String::from_utf8_lossy(body).trim())
}

fn truncate(s: &str) -> String {
    truncate_to(s, MAX_QUOTED)
}

fn truncate_to(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Whether an address is globally routable unicast (what `IpAddr::is_global`
/// will say once stable, slightly stricter).
fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", incl. unspecified 0.0.0.0
        || a == 10 // RFC 1918
        || (a == 100 && (b & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local, incl. cloud metadata 169.254.169.254
        || (a == 172 && (b & 0xf0) == 16) // RFC 1918 172.16.0.0/12
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 192 && b == 0 && c == 2) // documentation TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168) // RFC 1918
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || (a == 198 && b == 51 && c == 100) // documentation TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // documentation TEST-NET-3
        || a >= 224; // multicast 224/4, reserved 240/4, broadcast 255.255.255.255
    !refused
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    let s = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96: the packets go to the embedded IPv4.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_global_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32));
    }
    // 6to4 2002::/16: the embedded IPv4 is the tunnel endpoint.
    if s[0] == 0x2002 {
        return is_global_v4(Ipv4Addr::from(((s[1] as u32) << 16) | s[2] as u32));
    }
    // Only global unicast 2000::/3. This refuses ::, ::1, IPv4-compatible ::/96,
    // local NAT64 64:ff9b:1::/48, discard 100::/64, unique local fc00::/7,
    // link-local fe80::/10, site-local fec0::/10 and multicast ff00::/8.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    let refused = match s[0] {
        // IETF protocol assignments 2001::/23 (Teredo, ORCHID, benchmarking)
        // and documentation 2001:db8::/32.
        0x2001 => s[1] < 0x0200 || s[1] == 0x0db8,
        // Documentation 3fff::/20.
        0x3fff => s[1] < 0x1000,
        _ => false,
    };
    !refused
}

/// Error of [`PolicyResolver`] when every address of a name is refused; found
/// again in reqwest's error chain to report [`CallbackError::PrivateAddress`].
#[derive(Debug)]
struct RefusedByPolicy;

impl std::fmt::Display for RefusedByPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("host resolves only to addresses this server does not call")
    }
}

impl StdError for RefusedByPolicy {}

/// The system resolver (getaddrinfo via tokio), minus the addresses the policy
/// refuses. Because reqwest connects only to what this returns, a name cannot
/// lead to a private address however its DNS records look or change.
struct PolicyResolver {
    policy: CallbackPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        let fut: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
            // Port 0: reqwest replaces it with the URL's port or the scheme default.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if resolved.is_empty() {
                return Err(format!("no addresses found for {host}").into());
            }
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| policy.address_allowed(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(RefusedByPolicy) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        });
        fut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn strict() -> CallbackPolicy {
        CallbackPolicy {
            own_hosts: vec!["vtn.example.org".into()],
            ..CallbackPolicy::default()
        }
    }

    #[test]
    fn check_url_accepts_public_https() {
        let url = strict().check_url("https://example.com/cb?x=1").unwrap();
        assert_eq!(url.as_str(), "https://example.com/cb?x=1");
        strict().check_url("https://93.184.215.14:8443/cb").unwrap();
        strict().check_url("https://[2606:4700::1111]/cb").unwrap();
    }

    #[test]
    fn check_url_refusals() {
        let p = strict();
        type Expect = fn(&CallbackError) -> bool;
        let cases: &[(&str, Expect)] = &[
            ("http://example.com/cb", |e| {
                matches!(e, CallbackError::HttpNotAllowed)
            }),
            (
                "ftp://example.com/cb",
                |e| matches!(e, CallbackError::UnsupportedScheme(s) if s == "ftp"),
            ),
            ("https://", |e| matches!(e, CallbackError::MissingHost)),
            ("https://:443/cb", |e| {
                matches!(e, CallbackError::MissingHost)
            }),
            ("/relative/cb", |e| {
                matches!(e, CallbackError::InvalidUrl(_))
            }),
            ("not a url", |e| matches!(e, CallbackError::InvalidUrl(_))),
            ("https://user:pass@example.com/cb", |e| {
                matches!(e, CallbackError::UserInfo)
            }),
            ("https://user@example.com/cb", |e| {
                matches!(e, CallbackError::UserInfo)
            }),
            ("https://127.0.0.1/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://127.1/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://0x7f000001/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://[::1]/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://10.1.2.3/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://192.168.0.1/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://169.254.169.254/latest/meta-data", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://[::ffff:127.0.0.1]/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://[fe80::1]/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://0.0.0.0/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://localhost:8080/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://api.localhost/cb", |e| {
                matches!(e, CallbackError::PrivateAddress)
            }),
            ("https://vtn.example.org/cb", |e| {
                matches!(e, CallbackError::OwnHost)
            }),
            ("https://VTN.Example.Org.:443/cb", |e| {
                matches!(e, CallbackError::OwnHost)
            }),
        ];
        for (url, expected) in cases {
            let err = p.check_url(url).expect_err(url);
            assert!(expected(&err), "{url}: unexpected {err:?}");
        }
    }

    #[test]
    fn check_url_with_relaxed_policy() {
        let p = CallbackPolicy {
            allow_http: true,
            allow_private: true,
            ..strict()
        };
        p.check_url("http://example.com/cb").unwrap();
        p.check_url("http://127.0.0.1:8080/cb").unwrap();
        p.check_url("https://[::1]/cb").unwrap();
        p.check_url("http://localhost/cb").unwrap();
        p.check_url("https://vtn.example.org/cb").unwrap();
        assert!(matches!(
            p.check_url("ftp://example.com/cb"),
            Err(CallbackError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            p.check_url("http://u:p@127.0.0.1/cb"),
            Err(CallbackError::UserInfo)
        ));
        // http alone does not open private addresses.
        let http_only = CallbackPolicy {
            allow_http: true,
            ..strict()
        };
        http_only.check_url("http://example.com/cb").unwrap();
        assert!(matches!(
            http_only.check_url("http://127.0.0.1/cb"),
            Err(CallbackError::PrivateAddress)
        ));
    }

    #[test]
    fn address_allowed_table() {
        let table: &[(&str, bool)] = &[
            ("8.8.8.8", true),
            ("93.184.215.14", true),
            ("100.63.255.255", true),
            ("100.128.0.1", true),
            ("172.15.0.1", true),
            ("172.32.0.1", true),
            ("223.255.255.254", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.0.0.1", false),
            ("100.64.0.1", false),
            ("100.127.255.254", false),
            ("127.0.0.1", false),
            ("127.255.255.255", false),
            ("169.254.169.254", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.10", false),
            ("192.168.1.1", false),
            ("198.18.0.1", false),
            ("198.19.255.1", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            ("2606:4700::1111", true),
            ("2a00:1450:4001::200e", true),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::808:808", true),
            ("2002:808:808::1", true),
            ("::", false),
            ("::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::127.0.0.1", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b:1::1", false),
            ("2002:7f00:1::1", false),
            ("2002:c0a8:101::1", false),
            ("100::1", false),
            ("2001::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
        ];
        let strict = strict();
        let open = CallbackPolicy {
            allow_private: true,
            ..strict.clone()
        };
        for (ip, allowed) in table {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(strict.address_allowed(ip), *allowed, "{ip}");
            assert!(open.address_allowed(ip), "{ip} with allow_private");
        }
    }

    #[test]
    fn echo_matching() {
        let echo = "0123456789abcdef0123456789abcdef";
        assert!(echo_matches(echo.as_bytes(), echo));
        assert!(echo_matches(format!("  {echo}\r\n").as_bytes(), echo));
        assert!(echo_matches(
            format!(r#"{{"echo": "{echo}"}}"#).as_bytes(),
            echo
        ));
        assert!(echo_matches(
            format!(" {{\"echo\":\"{echo}\", \"x\": 1}}\n").as_bytes(),
            echo
        ));
        assert!(!echo_matches(b"", echo));
        assert!(!echo_matches(echo.to_uppercase().as_bytes(), echo));
        assert!(!echo_matches(format!("\"{echo}\"").as_bytes(), echo));
        assert!(!echo_matches(
            format!(r#"{{"echo": "x{echo}"}}"#).as_bytes(),
            echo
        ));
        assert!(!echo_matches(format!("{echo}{echo}").as_bytes(), echo));
        assert_eq!(random_echo().unwrap().len(), 32);
        assert_ne!(random_echo().unwrap(), random_echo().unwrap());
    }

    #[test]
    fn quoted_answers_are_short_and_single_line() {
        let long = "x".repeat(500);
        let q = quote(long.as_bytes());
        assert_eq!(q.chars().count(), MAX_QUOTED + 1);
        assert!(q.ends_with('…'));
        assert_eq!(quote(b"a\nb\tc"), "a b c");
        let msg = CallbackError::WrongEcho(q).to_string();
        assert!(msg.len() < 120, "{msg}");
        assert_eq!(
            CallbackError::Timeout(Duration::from_secs(1)).to_string(),
            "callback did not answer within 1 s"
        );
        assert_eq!(
            CallbackError::Timeout(Duration::from_millis(1500)).to_string(),
            "callback did not answer within 1.5 s"
        );
    }

    /// How the test receiver answers.
    #[derive(Clone, Copy)]
    enum Answer {
        Echo,
        JsonEcho,
        Wrong,
        Status500,
        Redirect,
        Never,
    }

    /// A tiny HTTP/1.1 receiver on 127.0.0.1 answering every request the same
    /// way. Returns its port and the request heads it received.
    async fn receiver(answer: Answer) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    seen.lock().unwrap().push(head);
                    let echo = target
                        .split(['?', '&'])
                        .find_map(|kv| kv.strip_prefix("echo="))
                        .unwrap_or("")
                        .to_owned();
                    let (status, extra, body) = match answer {
                        Answer::Echo => ("200 OK", "", format!("{echo}\n")),
                        Answer::JsonEcho => ("200 OK", "", format!(r#"{{"echo":"{echo}"}}"#)),
                        Answer::Wrong => ("200 OK", "", "hello, this is not the echo".into()),
                        Answer::Status500 => ("500 Internal Server Error", "", "oops".into()),
                        Answer::Redirect => (
                            "302 Found",
                            // Redirect to where the echo would be answered, to
                            // prove it is not followed.
                            "Location: /elsewhere\r\n",
                            String::new(),
                        ),
                        Answer::Never => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(response.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        (port, heads)
    }

    fn local_policy(allow_private: bool) -> CallbackPolicy {
        CallbackPolicy {
            allow_http: true,
            allow_private,
            own_hosts: Vec::new(),
            timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn verify_echo_against_local_receiver() {
        let policy = local_policy(true);
        let client = policy.client().unwrap();

        // Echo answered, token sent, existing query kept.
        let (port, heads) = receiver(Answer::Echo).await;
        let url = format!("http://127.0.0.1:{port}/cb?ven=1");
        policy
            .verify_echo(&client, &url, Some("s3cret-token"))
            .await
            .unwrap();
        let head = heads.lock().unwrap()[0].clone();
        let request_line = head.lines().next().unwrap();
        assert!(
            request_line.starts_with("GET /cb?ven=1&echo="),
            "{request_line}"
        );
        let echo = request_line
            .split("echo=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert_eq!(echo.len(), 32);
        assert!(echo.bytes().all(|b| b.is_ascii_hexdigit()));
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("\r\nauthorization: bearer s3cret-token\r\n"),
            "{head}"
        );
        assert!(lower.contains(&format!(
            "\r\nuser-agent: {}\r\n",
            USER_AGENT.to_ascii_lowercase()
        )));

        // Without a token no Authorization header.
        let (port, heads) = receiver(Answer::Echo).await;
        policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/"), None)
            .await
            .unwrap();
        assert!(!heads.lock().unwrap()[0]
            .to_ascii_lowercase()
            .contains("authorization"));

        // JSON answer.
        let (port, _) = receiver(Answer::JsonEcho).await;
        policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap();

        // Wrong body.
        let (port, _) = receiver(Answer::Wrong).await;
        let err = policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CallbackError::WrongEcho(b) if b == "hello, this is not the echo"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "callback answered 'hello, this is not the echo' instead of the echo value"
        );

        // 500.
        let (port, _) = receiver(Answer::Status500).await;
        let err = policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::Status(500)), "{err:?}");
        assert_eq!(err.to_string(), "callback answered HTTP 500");

        // 302 is not followed.
        let (port, heads) = receiver(Answer::Redirect).await;
        let err = policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::Redirect(302)), "{err:?}");
        assert_eq!(heads.lock().unwrap().len(), 1, "redirect was followed");

        // Nobody listening.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::Connect(_)), "{err:?}");
        assert!(!err.to_string().contains("127.0.0.1"), "{err}");

        // Bad token.
        let err = policy
            .verify_echo(
                &client,
                &format!("http://127.0.0.1:{port}/cb"),
                Some("a\r\nb"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::InvalidBearerToken), "{err:?}");

        // The policy is checked before any request.
        let err = local_policy(false)
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, CallbackError::PrivateAddress), "{err:?}");
    }

    #[tokio::test]
    async fn verify_echo_times_out() {
        let policy = local_policy(true);
        let client = policy.client().unwrap();
        let (port, _) = receiver(Answer::Never).await;
        let start = Instant::now();
        let err = policy
            .verify_echo(&client, &format!("http://127.0.0.1:{port}/cb"), None)
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        assert!(matches!(err, CallbackError::Timeout(_)), "{err:?}");
        assert_eq!(err.to_string(), "callback did not answer within 1 s");
        assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    #[tokio::test]
    async fn resolver_drops_loopback_unless_allowed() {
        let (port, heads) = receiver(Answer::Echo).await;
        let url = format!("http://localhost:{port}/cb?echo=abc");

        // The client alone (no check_url): the resolver must refuse localhost.
        let strict = local_policy(false);
        let client = strict.client().unwrap();
        let err = client.get(&url).send().await.unwrap_err();
        assert!(
            chain(&err).any(|e| e.downcast_ref::<RefusedByPolicy>().is_some()),
            "{err:?}"
        );
        assert!(matches!(
            strict.map_error(err),
            CallbackError::PrivateAddress
        ));
        assert!(heads.lock().unwrap().is_empty(), "the receiver was reached");

        // Allowed: the same name reaches the receiver.
        let open = local_policy(true);
        let client = open.client().unwrap();
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.text().await.unwrap().trim(), "abc");
        open.verify_echo(&client, &format!("http://localhost:{port}/cb"), None)
            .await
            .unwrap();
        assert_eq!(heads.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn strict_client_refuses_plain_http() {
        // Even without check_url, the strict client does not speak plain http.
        let client = CallbackPolicy::default().client().unwrap();
        let (port, heads) = receiver(Answer::Echo).await;
        let err = client
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_builder(), "{err:?}");
        assert!(heads.lock().unwrap().is_empty());
    }
}
