-- Energy Coordination API (Volue-style service-provider API): users of a service provider, their
-- meters, and the link from a vehicle or resource to the OpenADR resource that represents it.
-- A service provider is a VEN client; everything here belongs to its tenant and its VEN name.
-- The assets themselves are OpenADR resources (table `resources`): `ec_assets` only maps the
-- partner's id to them, and goes when the resource goes (ON DELETE CASCADE), so an asset never
-- outlives its resource. A user with assets cannot be deleted by SQL (the service deletes the
-- assets' resources first); its meters go with it.
CREATE TABLE ec_users (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ven_name    TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    UNIQUE (tenant_id, ven_name, id)
);
CREATE INDEX ec_users_ven_seq ON ec_users (tenant_id, ven_name, seq);

-- meterId is server-assigned; a meter point is registered once per tenant.
CREATE TABLE ec_meters (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ven_name        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    id              TEXT NOT NULL,
    meter_point_id  TEXT NOT NULL,
    body            TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, meter_point_id),
    FOREIGN KEY (tenant_id, ven_name, user_id) REFERENCES ec_users (tenant_id, ven_name, id) ON DELETE CASCADE
);
CREATE INDEX ec_meters_user_seq ON ec_meters (tenant_id, ven_name, user_id, seq);

-- kind is 'vehicle' or 'resource'; id is the partner's vehicleId or resourceId, unique per tenant
-- across both kinds (it is also the OpenADR resourceName); a VIN is registered once per tenant.
CREATE TABLE ec_assets (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ven_name     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    vin          TEXT,
    resource_id  TEXT NOT NULL,
    body         TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, vin),
    FOREIGN KEY (tenant_id, ven_name, user_id) REFERENCES ec_users (tenant_id, ven_name, id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ec_assets_user_seq ON ec_assets (tenant_id, ven_name, user_id, kind, seq);
CREATE INDEX ec_assets_resource ON ec_assets (tenant_id, resource_id);
