-- Tenancy and identity come first: every object row carries tenant_id from the start.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE clients (
    client_id    TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    secret_hash  TEXT NOT NULL,           -- argon2 PHC string, never the secret
    scopes       TEXT NOT NULL,           -- space-separated
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TEXT NOT NULL
);
CREATE INDEX clients_tenant ON clients (tenant_id);

-- seq gives a stable creation order for pagination; id is the public object ID.
CREATE TABLE programs (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    program_name  TEXT NOT NULL,
    body          TEXT NOT NULL,          -- the object exactly as the API returns it
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, program_name)
);
CREATE INDEX programs_tenant_seq ON programs (tenant_id, seq);

CREATE TABLE program_targets (
    tenant_id     TEXT NOT NULL,
    owner_seq     BIGINT NOT NULL REFERENCES programs (seq) ON DELETE CASCADE,
    target_type   TEXT NOT NULL,
    target_value  TEXT NOT NULL
);
CREATE INDEX program_targets_owner ON program_targets (owner_seq, target_type, target_value);

CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    program_id  TEXT NOT NULL,
    start_ms    BIGINT,                   -- active window in Unix ms; NULL start: no time given
    end_ms      BIGINT,                   -- NULL end: open-ended
    body        TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    -- A program with events cannot be deleted (the API answers 409).
    FOREIGN KEY (tenant_id, program_id) REFERENCES programs (tenant_id, id)
);
CREATE INDEX events_tenant_seq ON events (tenant_id, seq);
CREATE INDEX events_program_seq ON events (tenant_id, program_id, seq);

CREATE TABLE event_targets (
    tenant_id     TEXT NOT NULL,
    owner_seq     BIGINT NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    target_type   TEXT NOT NULL,
    target_value  TEXT NOT NULL
);
CREATE INDEX event_targets_owner ON event_targets (owner_seq, target_type, target_value);
