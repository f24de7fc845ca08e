-- A resource's name addresses its VEN (RESOURCE_NAME targets) only when business logic created
-- or approved the resource: a VEN client naming its resource like another VEN's (a Voltus site
-- id, say) must not receive that resource's events. Business logic approves a resource by
-- creating it or by writing it (PUT); a VEN client's rename withdraws the approval.
-- Resources stored before this migration cannot be told apart, so none is approved: business
-- logic re-approves the ones it trusts with a PUT (see docs, "Who sees what").
ALTER TABLE resources ADD COLUMN approved BOOLEAN NOT NULL DEFAULT FALSE;
