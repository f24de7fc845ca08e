//! Faults: the server killed mid-write, the database stopped under load, a webhook receiver that
//! hangs and resets connections. What a client was told succeeded must still be there, failures
//! must be quick 503s rather than hangs, and everything must come back without a restart.
//! (Voltus unreachable or answering garbage is in `voltus.rs`,
//! `an_inbound_webhook_fetches_the_dispatch_it_names`.)

use crate::backend_tests;
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// SIGKILL during a write load.

/// The real binary, as an operator runs it, on `database_url`.
struct ServerProcess {
    child: tokio::process::Child,
    base: String,
}

impl ServerProcess {
    async fn start(database_url: &str) -> Self {
        let port = free_port();
        let child = vtn_binary()
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("VTN_BIND", format!("127.0.0.1:{port}"))
            .env("VTN_JWT_SECRET", JWT_SECRET)
            .env("VTN_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET)
            .env("VTN_LOG", "error")
            .env("VTN_VOLTUS_BRIDGE", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start openadr3-vtn");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        within("the server to start", Duration::from_secs(30), || async {
            let health = http.get(format!("{}/health", server.base)).send().await;
            health.ok().filter(|r| r.status().is_success())
        })
        .await;
        server
    }

    async fn token(&self) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/api/openadr/v1/auth/token", self.base))
            .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        expect_json(response, 200).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// What one writer was told: the last acknowledged body of each of its events, and the body of
/// the write in flight, which may or may not have been applied when the server died.
#[derive(Default)]
struct Acknowledged {
    last: HashMap<String, Value>,
    in_flight: HashMap<String, Value>,
}

/// Creates events and updates them, one request at a time, until the server stops answering.
async fn write_until_killed(
    base: String,
    token: String,
    program: String,
    writer: usize,
) -> Acknowledged {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/openadr/v1/events");
    let mut seen = Acknowledged::default();
    for round in 0.. {
        let body = json!({"programID": program, "eventName": format!("w{writer}-{round}"),
            "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
            "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [round]}]}]});
        let Ok(response) = http.post(&url).bearer_auth(&token).json(&body).send().await else {
            return seen;
        };
        let status = response.status();
        let Ok(created) = response.json::<Value>().await else {
            return seen;
        };
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = id_of(&created);
        seen.last.insert(id.clone(), created.clone());
        // Then an update of the event just created.
        let mut changed = without_server_fields(&created);
        changed["intervals"][0]["payloads"][0]["values"] = json!([round * 10 + 1]);
        seen.in_flight.insert(id.clone(), changed.clone());
        let Ok(response) = http
            .put(format!("{url}/{id}"))
            .bearer_auth(&token)
            .json(&changed)
            .send()
            .await
        else {
            return seen;
        };
        let status = response.status();
        let Ok(updated) = response.json::<Value>().await else {
            return seen;
        };
        assert_eq!(status, StatusCode::OK, "{updated}");
        seen.in_flight.remove(&id);
        seen.last.insert(id, updated);
    }
    seen
}

/// Every write that got a 2xx before a SIGKILL is there after a restart, exactly as answered;
/// a write cut by the kill is either wholly applied or not at all.
async fn acknowledged_writes_survive_a_sigkill(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let mut server = ServerProcess::start(&db.url).await;
    let token = server.token().await;
    let http = reqwest::Client::new();
    let program = expect_json(
        http.post(format!("{}/api/openadr/v1/programs", server.base))
            .bearer_auth(&token)
            .json(&json!({"programName": "p"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let program = id_of(&program);

    let writers: Vec<_> = (0..6)
        .map(|writer| {
            tokio::spawn(write_until_killed(
                server.base.clone(),
                token.clone(),
                program.clone(),
                writer,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.start_kill().expect("SIGKILL the server");
    server.child.wait().await.unwrap();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.push(writer.await.unwrap());
    }
    let total: usize = acknowledged.iter().map(|a| a.last.len()).sum();
    assert!(
        total >= 6,
        "the load wrote too little to test anything: {total}"
    );

    let server = ServerProcess::start(&db.url).await;
    let token = server.token().await;
    for seen in &acknowledged {
        for (id, acked) in &seen.last {
            let response = http
                .get(format!("{}/api/openadr/v1/events/{id}", server.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let stored = expect_json(response, 200).await;
            match seen.in_flight.get(id) {
                // The update in flight: applied whole, or not at all.
                Some(cut) if stored != *acked => {
                    assert_eq!(without_server_fields(&stored), *cut, "event {id}")
                }
                _ => assert_eq!(stored, *acked, "event {id}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A TCP switch in front of a peer: passes traffic or resets connections.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Pass,
    /// Every connection is reset (RST) as soon as it is accepted.
    Reset,
}

struct TcpSwitch {
    port: u16,
    line: watch::Sender<Line>,
}

impl TcpSwitch {
    /// A switch on a random loopback port in front of `upstream` (host:port).
    async fn new(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (line, watcher) = watch::channel(Line::Pass);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut watcher = watcher.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let line = *watcher.borrow_and_update();
                    match line {
                        Line::Reset => {
                            let _ = client.set_zero_linger();
                        }
                        Line::Pass => {
                            let Ok(server) = TcpStream::connect(&upstream).await else {
                                return;
                            };
                            let (mut client, mut server) = (client, server);
                            // A change of line cuts the connections it let through.
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = watcher.changed() => {
                                    let _ = client.set_zero_linger();
                                }
                            }
                        }
                    }
                });
            }
        });
        Self { port, line }
    }

    fn set(&self, line: Line) {
        self.line.send_replace(line);
    }
}

// ---------------------------------------------------------------------------------------------
// A webhook receiver that hangs, then resets connections, then recovers.

/// While the receiver hangs past the delivery timeout and then resets every connection, the
/// API answers as fast as ever; once it recovers, every notification arrives.
async fn a_hanging_or_resetting_receiver_neither_slows_the_api_nor_loses_notifications(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |args| {
        args.webhooks.webhook_timeout_seconds = 1.0;
        args.webhooks.webhook_retry_schedule = vec![0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    })
    .await;
    let receiver = Receiver::new();
    let upstream = receiver.url();
    let authority = upstream
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let switch = TcpSwitch::new(authority.clone()).await;
    let callback = upstream.replace(&authority, &format!("127.0.0.1:{}", switch.port));
    let program = id_of(&app.create_program("p", json!(null)).await);
    let body = json!({"programID": program, "clientName": "bl",
        "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": callback}]});
    let subscription = id_of(&expect_json(app.post("/subscriptions", body).await, 201).await);

    let mut names = Vec::new();
    let mut slowest = Duration::ZERO;
    for (phase, setup) in [("hang", Line::Pass), ("reset", Line::Reset)] {
        receiver.hang(phase == "hang");
        switch.set(setup);
        for i in 0..10 {
            let name = format!("{phase}-{i}");
            let started = Instant::now();
            let event = json!({"programID": program, "eventName": name,
                "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [i]}]}]});
            expect_json(app.post("/events", event).await, 201).await;
            slowest = slowest.max(started.elapsed());
            names.push(name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // A delivery inline with the request would take the 1 s delivery timeout at least.
    assert!(
        slowest < Duration::from_millis(800),
        "an event create took {slowest:?} while the receiver was failing"
    );
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| r.body["object"]["eventName"]
                .as_str()
                .unwrap()
                .starts_with("hang")),
        "nothing got through the resets"
    );

    receiver.hang(false);
    switch.set(Line::Pass);
    let arrived = within("every notification", Duration::from_secs(30), || async {
        let arrived: std::collections::HashSet<String> = receiver
            .received()
            .iter()
            .map(|r| r.body["object"]["eventName"].as_str().unwrap().to_owned())
            .collect();
        (arrived.len() == names.len()).then_some(arrived)
    })
    .await;
    for name in &names {
        assert!(arrived.contains(name), "{name} never arrived");
    }
    // And the server knows each as delivered (an answer came back, not only a request out).
    within(
        "every delivery settled",
        Duration::from_secs(30),
        || async {
            let deliveries = expect_json(
                app.get(&format!(
                    "/subscriptions/{subscription}/deliveries?limit=50"
                ))
                .await,
                200,
            )
            .await;
            let deliveries = deliveries.as_array().unwrap().clone();
            (deliveries.len() == names.len()
                && deliveries.iter().all(|d| d["state"] == "delivered"))
            .then_some(())
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL stopped and started again under load.

/// A PostgreSQL server of the test's own (initdb in a temporary directory, on a random port),
/// so it can be stopped without disturbing other tests.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// `None` when no PostgreSQL server binaries are installed here.
    fn bin_dir() -> Option<PathBuf> {
        if let Ok(dir) = std::env::var("VTN_TEST_PG_BINDIR") {
            return Some(PathBuf::from(dir));
        }
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .collect();
        versions.sort();
        versions.pop()
    }

    fn run(&self, program: &str, args: &[&str]) {
        run_as_postgres(&self.bin.join(program), args);
    }

    fn start(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let as_root = unsafe { libc::geteuid() } == 0;
        if as_root {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            let status = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the cluster directory");
        }
        let server = Self {
            bin,
            port: free_port(),
            dir,
        };
        let data = server.data();
        server.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        server.up();
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// A fast shutdown: sessions are ended (SQLSTATE 57P01), new connections refused.
    fn down(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = std::panic::catch_unwind(|| {
            run_as_postgres(
                &self.bin.join("pg_ctl"),
                &["-D", &data, "-m", "immediate", "-w", "stop"],
            )
        });
    }
}

fn run_as_postgres(program: &Path, args: &[&str]) {
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut command = std::process::Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        std::process::Command::new(program)
    };
    let output = command.args(args).output().expect("run a PostgreSQL tool");
    assert!(
        output.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Statuses and the slowest answer of the requests a load task made.
#[derive(Default)]
struct LoadRecord {
    statuses: Vec<(u16, Duration)>,
}

/// PostgreSQL stopped under load: requests fail fast with 503 problems, `/ready` says not
/// ready, and once PostgreSQL is back the service (API, writes, webhook delivery) resumes by
/// itself. PostgreSQL only: an embedded SQLite cannot be stopped apart from the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_gives_quick_503s_and_service_resumes_by_itself() {
    if postgres_server_url().is_none() {
        return;
    }
    let Some(bin) = PrivatePostgres::bin_dir() else {
        assert!(
            std::env::var("VTN_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "VTN_TEST_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries (set VTN_TEST_PG_BINDIR)"
        );
        eprintln!("note: the PostgreSQL outage test is skipped: no server binaries");
        return;
    };
    let pg = tokio::task::spawn_blocking(move || PrivatePostgres::start(bin))
        .await
        .unwrap();
    let app = TestApp::on_database(&pg.url(), |args| {
        args.database.db_acquire_timeout_seconds = 1;
        args.limits.request_timeout_seconds = 3.0;
    })
    .await;
    let receiver = Receiver::new();
    let program = id_of(&app.create_program("p", json!(null)).await);
    let body = json!({"programID": program, "clientName": "bl",
        "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": receiver.url()}]});
    expect_json(app.post("/subscriptions", body).await, 201).await;
    let before = app
        .create_event(json!({"programID": program, "eventName": "before",
            "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]}))
        .await;

    // A steady load of reads and writes through the outage.
    let record = Arc::new(Mutex::new(LoadRecord::default()));
    let (stop, stopped) = watch::channel(false);
    let load = {
        let (http, base, token, record, program) = (
            app.http.clone(),
            app.base.clone(),
            app.token.clone(),
            record.clone(),
            program.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0;
            while !*stopped.borrow() {
                i += 1;
                let request = if i % 2 == 0 {
                    http.get(format!("{base}/events"))
                } else {
                    http.post(format!("{base}/events")).json(&json!({
                        "programID": program, "eventName": format!("load-{i}"),
                        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [i]}]}]}))
                };
                let started = Instant::now();
                let response = request.bearer_auth(&token).send().await.unwrap();
                let status = response.status().as_u16();
                if status == 503 {
                    assert_eq!(
                        response.headers()["content-type"],
                        "application/problem+json"
                    );
                    assert!(response.headers().contains_key("retry-after"));
                }
                record
                    .lock()
                    .unwrap()
                    .statuses
                    .push((status, started.elapsed()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pg = tokio::task::spawn_blocking(move || {
        pg.down();
        pg
    })
    .await
    .unwrap();
    let outage_started = record.lock().unwrap().statuses.len();
    let ready = within(
        "/ready to say not ready",
        Duration::from_secs(10),
        || async {
            let response = app
                .http
                .get(format!("{}/ready", app.root))
                .send()
                .await
                .unwrap();
            (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
        },
    )
    .await;
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
    let health = app
        .http
        .get(format!("{}/health", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "the process itself is alive"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;

    let pg = tokio::task::spawn_blocking(move || {
        pg.up();
        pg
    })
    .await
    .unwrap();
    let outage_ended = record.lock().unwrap().statuses.len();
    within(
        "the load to succeed again",
        Duration::from_secs(20),
        || async {
            let record = record.lock().unwrap();
            let recent = &record.statuses[outage_ended.min(record.statuses.len())..];
            (recent.len() >= 4 && recent[recent.len() - 4..].iter().all(|(s, _)| *s < 300))
                .then_some(())
        },
    )
    .await;
    stop.send_replace(true);
    load.await.unwrap();

    let statuses = std::mem::take(&mut record.lock().unwrap().statuses);
    let during = &statuses[outage_started..outage_ended];
    assert!(
        during.iter().any(|(status, _)| *status == 503),
        "no request saw the outage: {during:?}"
    );
    for (status, took) in during {
        assert!(
            *status < 300 || *status == 503,
            "during the outage, {status} (only 2xx before the stop took effect, or 503)"
        );
        assert!(
            *took < Duration::from_millis(3500),
            "a request hung for {took:?}, past the 3 s request timeout"
        );
    }

    // Back by itself: reads, the object written before, writes, and webhook delivery.
    let ready = app
        .http
        .get(format!("{}/ready", app.root))
        .send()
        .await
        .unwrap();
    expect_json(ready, 200).await;
    assert_eq!(
        expect_json(app.get(&format!("/events/{}", id_of(&before))).await, 200).await,
        before
    );
    let after = app
        .create_event(json!({"programID": program, "eventName": "after",
            "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [2]}]}]}))
        .await;
    within(
        "the notification of the event created after",
        Duration::from_secs(15),
        || async {
            receiver
                .received()
                .iter()
                .any(|r| r.body["object"]["id"] == after["id"])
                .then_some(())
        },
    )
    .await;
    drop(pg);
}

// ---------------------------------------------------------------------------------------------
// Slow clients.

/// A client that sends its head and then trickles (or stops sending) its body is answered 408
/// once the request timeout passes, and nothing is written.
async fn a_client_that_stops_sending_its_body_gets_408(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| args.limits.request_timeout_seconds = 1.0).await;
    let port: u16 = app.root.rsplit(':').next().unwrap().parse().unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /api/openadr/v1/programs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"programName\"",
        app.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 5 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "answered before the timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([])
    );
}

/// A client that connects and never finishes its request head is disconnected.
async fn a_client_that_never_finishes_its_head_is_disconnected(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        args.limits.client_header_timeout_seconds = 1.0
    })
    .await;
    let port: u16 = app.root.rsplit(':').next().unwrap().parse().unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(b"GET /api/openadr/v1/programs HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the connection was still open after 5 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

backend_tests!(
    acknowledged_writes_survive_a_sigkill,
    a_hanging_or_resetting_receiver_neither_slows_the_api_nor_loses_notifications,
    a_client_that_stops_sending_its_body_gets_408,
    a_client_that_never_finishes_its_head_is_disconnected,
);
