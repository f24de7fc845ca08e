-- VENs and their resources. Like programs and events: the body is the object exactly as the API
-- returns it, next to the columns that filters, uniqueness and VEN visibility need.
-- Deleting a tenant deletes its VENs; deleting a VEN deletes its resources (ON DELETE CASCADE).
CREATE TABLE vens (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    ven_name    TEXT NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, ven_name)          -- also the index of venName filters and visibility
);
CREATE INDEX vens_tenant_seq ON vens (tenant_id, seq);

CREATE TABLE ven_targets (
    tenant_id     TEXT NOT NULL,
    owner_seq     INTEGER NOT NULL REFERENCES vens (seq) ON DELETE CASCADE,
    target_type   TEXT NOT NULL,
    target_value  TEXT NOT NULL
);
CREATE INDEX ven_targets_owner ON ven_targets (owner_seq, target_type, target_value);

CREATE TABLE resources (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    ven_id         TEXT NOT NULL,
    resource_name  TEXT NOT NULL,
    body           TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, ven_id, resource_name),  -- also the index of resourceName filters
    FOREIGN KEY (tenant_id, ven_id) REFERENCES vens (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX resources_ven_seq ON resources (tenant_id, ven_id, seq);

CREATE TABLE resource_targets (
    tenant_id     TEXT NOT NULL,
    owner_seq     INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    target_type   TEXT NOT NULL,
    target_value  TEXT NOT NULL
);
CREATE INDEX resource_targets_owner ON resource_targets (owner_seq, target_type, target_value);

