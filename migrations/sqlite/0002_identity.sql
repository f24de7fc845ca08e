-- Identity for a hosted VTN: client roles, VEN binding, signing keys, external identity
-- providers and an audit log of administrative actions.

-- bl (business logic), ven (bound to one VEN name) or admin (operator; no tenant objects).
ALTER TABLE clients ADD COLUMN role TEXT NOT NULL DEFAULT 'bl';
ALTER TABLE clients ADD COLUMN ven_name TEXT;

-- Token signing keys (EdDSA). The newest unretired key signs; a retired key still verifies
-- until the last token it signed has expired.
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    private_key    TEXT NOT NULL,         -- base64 PKCS#8 DER
    public_key     TEXT NOT NULL,         -- base64url raw public key (JWK "x")
    created_at_ms  INTEGER NOT NULL,
    retired_at_ms  INTEGER
);

-- Tokens from a tenant's own identity provider, verified against its JWKS.
CREATE TABLE identity_providers (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    issuer         TEXT NOT NULL UNIQUE,
    audience       TEXT NOT NULL,
    jwks_url       TEXT NOT NULL,
    scope_claim    TEXT NOT NULL DEFAULT 'scope',
    roles_claim    TEXT,
    role_scopes    TEXT NOT NULL DEFAULT '{}',   -- JSON: role name -> list of scopes
    ven_claim      TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX identity_providers_tenant ON identity_providers (tenant_id);

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,      -- client id, or "cli" for the command line
    action     TEXT NOT NULL,      -- e.g. tenant.create, client.rotate_secret
    tenant_id  TEXT,               -- tenant concerned, if any
    target     TEXT NOT NULL,      -- id of the object acted on
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);
