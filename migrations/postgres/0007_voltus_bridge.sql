-- Voltus bridge: dispatches from Voltus's REST API become OpenADR events.
--
-- `voltus_bridges`: one row per tenant with its configuration (the API key is a secret: never
-- listed, never logged), the poll lease (only the replica holding it polls the tenant) and the
-- bridge's health and counters, shared by every replica.
CREATE TABLE voltus_bridges (
    tenant_id             TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    base_url              TEXT NOT NULL,
    api_key               TEXT NOT NULL,
    program_name          TEXT,             -- NULL: one program per Voltus program
    site_target           TEXT NOT NULL,    -- customer_location_id | site_id
    target_type           TEXT NOT NULL,    -- e.g. RESOURCE_NAME
    poll_interval_ms      BIGINT NOT NULL,
    test_dispatches       TEXT NOT NULL,    -- test_program | publish | skip
    cancellation          TEXT NOT NULL,    -- zero_window | delete
    webhook_secret        TEXT NOT NULL,
    telemetry             BOOLEAN NOT NULL,
    enabled               BOOLEAN NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    lease_owner           TEXT,
    lease_until_ms        BIGINT,
    next_poll_ms          BIGINT NOT NULL DEFAULT 0,
    last_poll_ms          BIGINT,
    last_success_ms       BIGINT,
    last_error            TEXT,
    last_error_ms         BIGINT,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    polls                 BIGINT NOT NULL DEFAULT 0,
    poll_failures         BIGINT NOT NULL DEFAULT 0,
    events_created        BIGINT NOT NULL DEFAULT 0,
    events_updated        BIGINT NOT NULL DEFAULT 0,
    events_cancelled      BIGINT NOT NULL DEFAULT 0,
    dispatches_malformed  BIGINT NOT NULL DEFAULT 0,
    dispatches_stale      BIGINT NOT NULL DEFAULT 0,
    tests_skipped         BIGINT NOT NULL DEFAULT 0,
    webhooks_received     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX voltus_bridges_due ON voltus_bridges (enabled, next_poll_ms);

-- The last applied version of each dispatch, to tell new, changed, stale and unchanged apart.
CREATE TABLE voltus_dispatches (
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    dispatch_id          TEXT NOT NULL,
    modification_number  BIGINT,
    fingerprint          TEXT NOT NULL,
    authorized           BOOLEAN NOT NULL,
    test                 BOOLEAN NOT NULL,
    raw                  TEXT NOT NULL,     -- the dispatch as Voltus sent it, for audit
    updated_at_ms        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, dispatch_id)
);

-- One OpenADR event per dispatch and site. The row is written before the event, with the
-- event's id chosen then: a restart, a repeated poll or a second replica finds the same id, and
-- the events table's unique id refuses a second event.
CREATE TABLE voltus_dispatch_events (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    dispatch_id  TEXT NOT NULL,
    site_id      TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, dispatch_id, site_id),
    UNIQUE (tenant_id, event_id)
);

-- Telemetry back to Voltus: a durable outbox. A point is enqueued once per site, end time and
-- interval (the unique key), sent by the tenant's poller and retried until Voltus accepts it.
CREATE TABLE voltus_telemetry (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    site_id           TEXT NOT NULL,
    end_ms            BIGINT NOT NULL,
    interval_seconds  INTEGER NOT NULL,
    value_kw          DOUBLE PRECISION NOT NULL,
    report_id         TEXT NOT NULL,
    state             TEXT NOT NULL,        -- pending, sent, failed
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms   BIGINT NOT NULL,
    last_error        TEXT,
    sent_at_ms        BIGINT,
    created_at_ms     BIGINT NOT NULL,
    UNIQUE (tenant_id, site_id, end_ms, interval_seconds)
);
CREATE INDEX voltus_telemetry_due ON voltus_telemetry (tenant_id, state, next_attempt_ms);

-- Reports already turned into telemetry.
CREATE TABLE voltus_forwarded_reports (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    report_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, report_id)
);
