-- Issue 16: tokens are bound to the client record that minted them, and an external identity
-- provider's tokens get their role from an explicit mapping.

-- A random id per client record, new whenever a client id is created (again). Issued tokens
-- carry it; a token whose client was deleted and re-created (in another tenant or role) no
-- longer matches. Existing rows get a random one: their tokens, which lack it, are refused.
ALTER TABLE clients ADD COLUMN instance_id TEXT NOT NULL DEFAULT '';
UPDATE clients SET instance_id = md5(random()::text || clock_timestamp()::text || client_id);

-- bl: every token is business logic (ven_claim unset); ven: every token is a VEN principal bound
-- to the string in ven_claim; mapped: the roles claim must name exactly one of bl_roles or
-- ven_roles (JSON arrays of claim values). Providers with a ven_claim become `ven`, so tokens
-- without the claim are refused instead of acting as business logic.
ALTER TABLE identity_providers ADD COLUMN role TEXT NOT NULL DEFAULT 'bl';
ALTER TABLE identity_providers ADD COLUMN bl_roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE identity_providers ADD COLUMN ven_roles TEXT NOT NULL DEFAULT '[]';
UPDATE identity_providers SET role = 'ven' WHERE ven_claim IS NOT NULL;
