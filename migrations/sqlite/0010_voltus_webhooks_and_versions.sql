-- Voltus bridge, issue 16: poll and webhook on two replicas cannot undo each other.
--
-- `voltus_dispatches.fetched_at_ms`: when the stored version was fetched from Voltus (before the
-- request was sent). A version replaces the stored one only when it is newer: a higher
-- `modification_number`, or, when the numbers do not tell (equal or missing), a later fetch.
-- `applied`: FALSE while the version is claimed but its events are not all written yet, so a
-- failure half-way is re-applied by the next fetch of the same version.
ALTER TABLE voltus_dispatches ADD COLUMN fetched_at_ms BIGINT NOT NULL DEFAULT 0;
UPDATE voltus_dispatches SET fetched_at_ms = updated_at_ms;
ALTER TABLE voltus_dispatches ADD COLUMN applied BOOLEAN NOT NULL DEFAULT TRUE;

-- Inbound webhooks waiting for the replica that holds the tenant's lease: the webhook handler
-- only records the dispatch id here, and the lease holder fetches and applies it, so every
-- write of a tenant's dispatches happens under the lease. One row per dispatch (a second
-- webhook for it moves `received_at_ms` on); a row is removed once a fetch started after it.
CREATE TABLE voltus_webhooks (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    dispatch_id      TEXT NOT NULL,
    received_at_ms   BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, dispatch_id)
);
CREATE INDEX voltus_webhooks_due ON voltus_webhooks (tenant_id, next_attempt_ms);
