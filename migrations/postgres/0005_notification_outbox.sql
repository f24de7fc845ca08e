-- Webhook notifications: a transactional outbox.
--
-- `changes` gets one row in the same transaction as every create, update and delete of an
-- OpenADR object, so a change the client heard 2xx for can never miss its notifications. A
-- delivery worker later "fans out" each change into `deliveries`, one per subscription (and
-- callback URL) that matches it and whose owner may read the object, then sends them.
-- Both tables are claimed with leases (`lease_owner`, `lease_until_ms`): a worker that dies
-- mid-work loses its lease and another worker (or the restarted one) takes the row over.

CREATE TABLE changes (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    object_type     TEXT NOT NULL,          -- PROGRAM, EVENT, …
    operation       TEXT NOT NULL,          -- POST, PUT, DELETE (3.0.1 spelling)
    object_id       TEXT NOT NULL,
    owner           TEXT,                   -- owning VEN name of reports and subscriptions
    notification    TEXT NOT NULL,          -- the 3.0.1 notification object, as sent
    created_at_ms   BIGINT NOT NULL,
    fanned_out      BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner     TEXT,
    lease_until_ms  BIGINT
);
CREATE INDEX changes_pending ON changes (fanned_out, seq);
CREATE INDEX changes_object ON changes (tenant_id, object_id, seq);

CREATE TABLE deliveries (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,  -- the notification id (`webhook-id`), stable across retries
    tenant_id        TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    change_seq       BIGINT NOT NULL REFERENCES changes (seq) ON DELETE CASCADE,
    object_type      TEXT NOT NULL,
    operation        TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    callback_url     TEXT NOT NULL,
    bearer_token     TEXT,                  -- secret of the subscription's owner; never listed
    state            TEXT NOT NULL,         -- pending, delivered, failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until_ms   BIGINT,
    last_status      INTEGER,
    last_error       TEXT,
    last_attempt_ms  BIGINT,
    delivered_at_ms  BIGINT,
    created_at_ms    BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX deliveries_order ON deliveries (tenant_id, subscription_id, object_id, change_seq);
CREATE INDEX deliveries_subscription ON deliveries (tenant_id, subscription_id, seq);
CREATE INDEX deliveries_change ON deliveries (change_seq);

-- The per-subscription secret that signs deliveries (Standard Webhooks and X-Payload-Signature).
ALTER TABLE subscriptions ADD COLUMN signing_secret TEXT;
UPDATE subscriptions SET signing_secret = 'whsec_' || encode(decode(md5(random()::text) || md5(random()::text), 'hex'), 'base64');
