-- A subscription's bearer tokens leave its body for a column of their own, sealed with the
-- server's secret keys like `signing_secret` (AES-256-GCM, see store::sealed): a database dump
-- alone yields neither. The server moves the tokens of existing bodies here, and seals them and
-- the signing secrets, when it starts.
ALTER TABLE subscriptions ADD COLUMN bearer_tokens TEXT;
