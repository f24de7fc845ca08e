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
DO $$
DECLARE constraint_name TEXT;
BEGIN
    FOR constraint_name IN
        SELECT c.conname FROM pg_constraint c
        WHERE c.conrelid = 'subscriptions'::regclass AND c.contype = 'f'
          AND c.confrelid = 'programs'::regclass
    LOOP
        EXECUTE format('ALTER TABLE subscriptions DROP CONSTRAINT %I', constraint_name);
    END LOOP;
END $$;
ALTER TABLE subscriptions ADD COLUMN client_id TEXT;
ALTER TABLE subscriptions ADD COLUMN retired_by_change BIGINT;

-- A delivery is sent to its subscription's callback as it is when sent (with the bearer token the
-- subscription has then), so deliveries keep no copy of the token. `subscriber` is the key the
-- worker shares its sending slots by: the subscription's client, else the subscription itself.
ALTER TABLE deliveries DROP COLUMN bearer_token;
ALTER TABLE deliveries ADD COLUMN subscriber TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET subscriber = 'subscription:' || subscription_id;
