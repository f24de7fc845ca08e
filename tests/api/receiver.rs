//! A real webhook receiver for tests: an HTTP server on a random loopback port, in a thread of its
//! own (so it outlives each test's runtime), shared by all tests. Each [`Receiver`] is one path
//! on it with its own behaviour and its own record of what arrived.
//!
//! `GET …?echo=X` answers the OpenADR callback challenge (correctly, unless told otherwise);
//! `POST` records the notification and answers the configured status (or never answers).

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub raw: Vec<u8>,
    pub body: Value,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// How a receiver answers the `echo` challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Correct,
    /// Answers 200 with another value.
    Wrong,
    /// Answers this status with the right value.
    Status(u16),
}

struct Hook {
    status: u16,
    hang: bool,
    echo: Echo,
    echo_requests: usize,
    received: Vec<Received>,
}

type Hooks = Arc<Mutex<HashMap<String, Hook>>>;

struct Shared {
    base: String,
    hooks: Hooks,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let hooks: Hooks = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let port = listener.local_addr().unwrap().port();
        let server_hooks = hooks.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(server_hooks.clone()))
                        .route("/hooks/{id}", web::get().to(echo))
                        .route("/hooks/{id}", web::post().to(record))
                })
                .workers(2)
                .listen(listener)
                .expect("the receiver listens")
                .run()
                .await
                .expect("the receiver runs")
            })
        });
        Shared {
            base: format!("http://127.0.0.1:{port}/hooks"),
            hooks,
        }
    })
}

async fn echo(hooks: web::Data<Hooks>, id: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let value = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "echo")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mode = {
        let mut hooks = hooks.lock().unwrap();
        let Some(hook) = hooks.get_mut(id.as_str()) else {
            return HttpResponse::NotFound().finish();
        };
        hook.echo_requests += 1;
        hook.echo
    };
    match mode {
        Echo::Correct => HttpResponse::Ok().body(value),
        Echo::Wrong => HttpResponse::Ok().body(format!("not-{value}")),
        Echo::Status(code) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).body(value)
        }
    }
}

async fn record(
    hooks: web::Data<Hooks>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (status, hang) = {
        let mut hooks = hooks.lock().unwrap();
        let Some(hook) = hooks.get_mut(id.as_str()) else {
            return HttpResponse::NotFound().finish();
        };
        {
            hook.received.push(Received {
                headers: req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect(),
                raw: body.to_vec(),
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                at: Instant::now(),
            });
        }
        (hook.status, hook.hang)
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

/// One callback endpoint of the shared receiver.
pub struct Receiver {
    id: String,
}

impl Receiver {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = format!("r{}", NEXT.fetch_add(1, Ordering::Relaxed));
        shared().hooks.lock().unwrap().insert(
            id.clone(),
            Hook {
                status: 200,
                hang: false,
                echo: Echo::Correct,
                echo_requests: 0,
                received: Vec::new(),
            },
        );
        Self { id }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", shared().base, self.id)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Hook) -> T) -> T {
        f(shared().hooks.lock().unwrap().get_mut(&self.id).unwrap())
    }

    /// Status answered to notifications (200 by default).
    pub fn answer(&self, status: u16) {
        self.with(|h| h.status = status);
    }

    /// Notifications are recorded but never answered.
    pub fn hang(&self, hang: bool) {
        self.with(|h| h.hang = hang);
    }

    pub fn echo(&self, echo: Echo) {
        self.with(|h| h.echo = echo);
    }

    pub fn echo_requests(&self) -> usize {
        self.with(|h| h.echo_requests)
    }

    pub fn received(&self) -> Vec<Received> {
        self.with(|h| h.received.clone())
    }

    /// Waits until at least `count` notifications arrived (or `timeout` passed) and returns all.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A callback URL that passes verification and accepts everything, for tests about other things.
pub fn callback_url() -> String {
    Receiver::new().url()
}
