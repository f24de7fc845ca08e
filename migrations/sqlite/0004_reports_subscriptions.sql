-- Reports and subscriptions. Like programs and events: the body is the object exactly as the API
-- returns it, next to the columns that filters, ordering and ownership need.
-- `owner` is the VEN name of the VEN client that created the object (NULL when a business-logic
-- client did): a VEN client reads and writes only the objects it owns.

-- A report names an existing program and an existing event of that program. An event (or
-- program) that still has reports cannot be deleted (the API answers 409).
CREATE TABLE reports (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    id           TEXT NOT NULL,
    program_id   TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    client_name  TEXT NOT NULL,
    owner        TEXT,
    body         TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, program_id) REFERENCES programs (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id)
);
CREATE INDEX reports_tenant_seq ON reports (tenant_id, seq);
CREATE INDEX reports_program_seq ON reports (tenant_id, program_id, seq);
CREATE INDEX reports_event_seq ON reports (tenant_id, event_id, seq);
CREATE INDEX reports_client_seq ON reports (tenant_id, client_name, seq);
CREATE INDEX reports_owner_seq ON reports (tenant_id, owner, seq);

-- A subscription names an existing program; deleting the program deletes its subscriptions.
-- The callback URL and bearer token stay in the body (the token is a secret of the owner).
CREATE TABLE subscriptions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    id           TEXT NOT NULL,
    program_id   TEXT NOT NULL,
    client_name  TEXT NOT NULL,
    owner        TEXT,
    body         TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, program_id) REFERENCES programs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX subscriptions_tenant_seq ON subscriptions (tenant_id, seq);
CREATE INDEX subscriptions_program_seq ON subscriptions (tenant_id, program_id, seq);
CREATE INDEX subscriptions_client_seq ON subscriptions (tenant_id, client_name, seq);
CREATE INDEX subscriptions_owner_seq ON subscriptions (tenant_id, owner, seq);

CREATE TABLE subscription_targets (
    tenant_id     TEXT NOT NULL,
    owner_seq     INTEGER NOT NULL REFERENCES subscriptions (seq) ON DELETE CASCADE,
    target_type   TEXT NOT NULL,
    target_value  TEXT NOT NULL
);
CREATE INDEX subscription_targets_owner ON subscription_targets (owner_seq, target_type, target_value);

-- One row per (objectOperations entry, object type, operation); `operation` is the 3.0.1
-- spelling (GET, POST, PUT, DELETE) whichever spelling the client sent. For the `objects` filter
-- and for matching changes to subscriptions.
CREATE TABLE subscription_objects (
    tenant_id     TEXT NOT NULL,
    owner_seq     INTEGER NOT NULL REFERENCES subscriptions (seq) ON DELETE CASCADE,
    op_index      INTEGER NOT NULL,   -- position in objectOperations
    object_type   TEXT NOT NULL,
    operation     TEXT NOT NULL
);
CREATE INDEX subscription_objects_owner ON subscription_objects (owner_seq, object_type);
CREATE INDEX subscription_objects_match ON subscription_objects (tenant_id, object_type, operation);
