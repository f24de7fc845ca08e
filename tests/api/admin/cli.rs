//! `openadr3-vtn tenant|client|idp|audit …` against a running server's database: the same
//! operations as the admin API, printed as JSON, audited with actor `cli`.

use super::{assert_invalid_client, token_attempt};
use crate::backend_tests;
use crate::helpers::*;
use serde_json::{json, Value};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The JSON printed by a successful command.
    fn json(&self) -> Value {
        assert!(self.ok, "the command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// The error of a failed command, which prints nothing on stdout.
    fn error(&self) -> &str {
        assert!(!self.ok, "the command should fail; printed {}", self.stdout);
        assert!(self.stdout.is_empty(), "nothing on stdout: {}", self.stdout);
        &self.stderr
    }
}

async fn vtn(app: &TestApp, args: &[&str]) -> Run {
    let output = vtn_binary()
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("run openadr3-vtn");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o[key].as_str().unwrap().to_owned())
        .collect()
}

async fn cli_administers_tenants_and_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = vtn(&app, &["tenant", "create", "acme"]).await.json();
    assert_eq!(
        (created["id"].as_str(), created["enabled"].as_bool()),
        (Some("acme"), Some(true))
    );
    assert!(vtn(&app, &["tenant", "create", "acme"])
        .await
        .error()
        .contains("'acme' already exists"));
    assert!(vtn(&app, &["tenant", "create", "Acme"])
        .await
        .error()
        .contains("id: 'Acme' must be"));
    assert_eq!(
        ids(&vtn(&app, &["tenant", "list"]).await.json(), "id"),
        ["acme", "default"]
    );

    // `client create` keeps its flags and its output.
    let args = [
        "client",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "read_all,write_programs",
    ];
    let bl = vtn(&app, &args).await.json();
    let keys: Vec<&String> = bl.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["client_id", "client_secret", "scopes", "tenant"]);
    let (id, secret) = (
        bl["client_id"].as_str().unwrap().to_owned(),
        bl["client_secret"].as_str().unwrap().to_owned(),
    );
    let args = [
        "client",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "read_all",
        "--ven-name",
        "ven-9",
    ];
    vtn(&app, &args).await.json();
    let args = [
        "client",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "write_events",
        "--role",
        "ven",
        "--ven-name",
        "v",
    ];
    assert!(vtn(&app, &args)
        .await
        .error()
        .contains("may not hold 'write_events'"));

    let listed = vtn(&app, &["client", "list", "--tenant", "acme"])
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&secret) && !listed.to_string().contains("argon2"));
    let ven = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == "ven")
        .expect("the VEN client");
    assert_eq!(ven["venName"], "ven-9");
    assert!(
        vtn(&app, &["client", "list"])
            .await
            .json()
            .as_array()
            .unwrap()
            .len()
            >= 3
    );

    let rotated = vtn(&app, &["client", "rotate-secret", &id]).await.json();
    assert_eq!(rotated["clientId"], id.as_str());
    let new_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_invalid_client(&app, &id, &secret).await;
    app.token_for(&id, &new_secret, None).await;

    assert_eq!(
        vtn(&app, &["client", "disable", &id]).await.json()["enabled"],
        false
    );
    assert_invalid_client(&app, &id, &new_secret).await;
    assert_eq!(
        vtn(&app, &["client", "enable", &id]).await.json()["enabled"],
        true
    );
    app.token_for(&id, &new_secret, None).await;

    assert_eq!(
        vtn(&app, &["tenant", "disable", "acme"]).await.json()["enabled"],
        false
    );
    assert_invalid_client(&app, &id, &new_secret).await;
    assert_eq!(
        vtn(&app, &["tenant", "enable", "acme"]).await.json()["enabled"],
        true
    );
    let (status, _) = token_attempt(&app, &id, &new_secret).await;
    assert_eq!(status, 200);

    assert_eq!(
        vtn(&app, &["client", "delete", &id]).await.json()["clientId"],
        id.as_str()
    );
    assert_invalid_client(&app, &id, &new_secret).await;
    assert!(vtn(&app, &["client", "disable", &id])
        .await
        .error()
        .contains("not found"));
    assert_eq!(
        vtn(&app, &["client", "list", "--tenant", "acme"])
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A missing tenant is created for the client, as before.
    vtn(
        &app,
        &[
            "client", "create", "--tenant", "newco", "--scopes", "read_all",
        ],
    )
    .await
    .json();
    assert_eq!(
        ids(&vtn(&app, &["tenant", "list"]).await.json(), "id"),
        ["acme", "default", "newco"]
    );

    assert_eq!(
        vtn(&app, &["tenant", "delete", "acme"]).await.json()["id"],
        "acme"
    );
    assert!(vtn(&app, &["tenant", "delete", "acme"])
        .await
        .error()
        .contains("tenant 'acme' not found"));
    assert_eq!(
        vtn(&app, &["client", "list", "--tenant", "acme"])
            .await
            .json(),
        json!([])
    );

    let audit = vtn(&app, &["audit", "list", "--tenant", "acme"]).await;
    let entries = audit.json();
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.delete",
            "client.delete",
            "tenant.enable",
            "tenant.disable",
            "client.enable",
            "client.disable",
            "client.rotate_secret",
            "client.create",
            "client.create",
            "tenant.create",
        ]
    );
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "cli"),
        "{entries}"
    );
    assert!(!audit.stdout.contains(&secret) && !audit.stdout.contains(&new_secret));
    assert!(vtn(&app, &["audit", "list", "--limit", "51"])
        .await
        .error()
        .contains("limit:"));
}

async fn cli_manages_identity_providers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let add = [
        "idp",
        "add",
        "--tenant",
        "default",
        "--issuer",
        "https://idp.example/",
        "--audience",
        "vtn",
        "--jwks-url",
        "https://idp.example/jwks",
        "--roles-claim",
        "roles",
        "--role-scope",
        "dr-operator=read_all,write_programs",
        "--role-scope",
        "viewer=read_all",
        "--role",
        "bl",
    ];
    let created = vtn(&app, &add).await.json();
    assert_eq!(created["scopeClaim"], "scope");
    assert_eq!(
        created["roleScopes"],
        json!({"dr-operator": ["read_all", "write_programs"], "viewer": ["read_all"]})
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(vtn(&app, &add).await.error().contains("already registered"));
    let mut bad = add.to_vec();
    bad[3] = "nowhere";
    assert!(vtn(&app, &bad)
        .await
        .error()
        .contains("tenant 'nowhere' not found"));
    let mut bad = add.to_vec();
    bad[13] = "dr-operator";
    assert!(vtn(&app, &bad).await.error().contains("ROLE=SCOPE"));

    assert_eq!(
        vtn(&app, &["idp", "list", "--tenant", "default"])
            .await
            .json(),
        json!([created])
    );
    assert_eq!(
        vtn(&app, &["idp", "delete", &id]).await.json()["id"],
        id.as_str()
    );
    assert!(vtn(&app, &["idp", "delete", &id])
        .await
        .error()
        .contains("not found"));
    assert_eq!(vtn(&app, &["idp", "list"]).await.json(), json!([]));
    // The role mapping is required, and checked like the API's.
    assert!(vtn(&app, &add[..add.len() - 2])
        .await
        .error()
        .contains("--role"));
    let mut mapped = add[..add.len() - 2].to_vec();
    mapped.extend([
        "--role",
        "mapped",
        "--bl-role",
        "dr-operator,planner",
        "--ven-role",
        "device",
    ]);
    assert!(vtn(&app, &mapped).await.error().contains("venClaim:"));
    mapped.extend(["--ven-claim", "ven"]);
    let created_mapped = vtn(&app, &mapped).await.json();
    assert_eq!(
        (
            &created_mapped["role"],
            &created_mapped["blRoles"],
            &created_mapped["venRoles"]
        ),
        (
            &json!("mapped"),
            &json!(["dr-operator", "planner"]),
            &json!(["device"])
        )
    );
    vtn(
        &app,
        &["idp", "delete", created_mapped["id"].as_str().unwrap()],
    )
    .await
    .json();

    let entries = vtn(&app, &["audit", "list", "--limit", "2"]).await.json();
    let actions: Vec<(&str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("identity_provider.delete", "cli"),
            ("identity_provider.create", "cli")
        ]
    );
}

backend_tests!(
    cli_administers_tenants_and_clients,
    cli_manages_identity_providers
);
