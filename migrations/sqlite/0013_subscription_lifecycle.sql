-- Subscriptions outlive their program for as long as it takes to tell them it was deleted.
--
-- Until now deleting a program deleted its subscriptions at once (ON DELETE CASCADE), so no
-- subscriber ever heard of a PROGRAM DELETE. Now the program's deletion retires them instead:
-- `retired_by_change` is the seq of the program's DELETE change. A retired subscription is gone
-- for the API (reads, writes, lists), still hears of the changes up to and including that one,
-- and is purged once they are delivered. Without the foreign key, the store checks that a
-- subscription's program exists when it is written.
--
-- `client_id` is the client that created the subscription (OpenADR 3.1's clientID): deliveries are
-- shared fairly between such subscribers. NULL for subscriptions created before this migration.
--
-- SQLite cannot drop a foreign key, so the table is rebuilt; its side tables are rebuilt with it
-- (dropping the old table would otherwise cascade into them).
CREATE TABLE subscriptions_new (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    id                 TEXT NOT NULL,
    program_id         TEXT NOT NULL,
    client_name        TEXT NOT NULL,
    owner              TEXT,
    body               TEXT NOT NULL,
    signing_secret     TEXT,
    client_id          TEXT,
    retired_by_change  INTEGER,
    UNIQUE (tenant_id, id)
);
INSERT INTO subscriptions_new (seq, tenant_id, id, program_id, client_name, owner, body, signing_secret)
    SELECT seq, tenant_id, id, program_id, client_name, owner, body, signing_secret FROM subscriptions;

CREATE TABLE subscription_targets_new (
    tenant_id     TEXT NOT NULL,
    owner_seq     INTEGER NOT NULL REFERENCES subscriptions_new (seq) ON DELETE CASCADE,
    target_type   TEXT NOT NULL,
    target_value  TEXT NOT NULL
);
INSERT INTO subscription_targets_new SELECT tenant_id, owner_seq, target_type, target_value FROM subscription_targets;

CREATE TABLE subscription_objects_new (
    tenant_id     TEXT NOT NULL,
    owner_seq     INTEGER NOT NULL REFERENCES subscriptions_new (seq) ON DELETE CASCADE,
    op_index      INTEGER NOT NULL,
    object_type   TEXT NOT NULL,
    operation     TEXT NOT NULL
);
INSERT INTO subscription_objects_new SELECT tenant_id, owner_seq, op_index, object_type, operation FROM subscription_objects;

DROP TABLE subscription_targets;
DROP TABLE subscription_objects;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_new RENAME TO subscriptions;
ALTER TABLE subscription_targets_new RENAME TO subscription_targets;
ALTER TABLE subscription_objects_new RENAME TO subscription_objects;

CREATE INDEX subscriptions_tenant_seq ON subscriptions (tenant_id, seq);
CREATE INDEX subscriptions_program_seq ON subscriptions (tenant_id, program_id, seq);
CREATE INDEX subscriptions_client_seq ON subscriptions (tenant_id, client_name, seq);
CREATE INDEX subscriptions_owner_seq ON subscriptions (tenant_id, owner, seq);
CREATE INDEX subscription_targets_owner ON subscription_targets (owner_seq, target_type, target_value);
CREATE INDEX subscription_objects_owner ON subscription_objects (owner_seq, object_type);
CREATE INDEX subscription_objects_match ON subscription_objects (tenant_id, object_type, operation);

-- A delivery is sent to its subscription's callback as it is when sent (with the bearer token the
-- subscription has then), so deliveries keep no copy of the token. `subscriber` is the key the
-- worker shares its sending slots by: the subscription's client, else the subscription itself.
ALTER TABLE deliveries DROP COLUMN bearer_token;
ALTER TABLE deliveries ADD COLUMN subscriber TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET subscriber = 'subscription:' || subscription_id;
