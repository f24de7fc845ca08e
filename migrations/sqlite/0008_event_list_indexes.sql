-- List pages of events (issue 9). A page is found in the index alone, and only its 50 rows are
-- read from the table: the list query picks the page's `seq`s in a subquery that touches index
-- columns only (tenant, program, seq, and the active window for x-start/x-end), then fetches the
-- bodies of those rows. Deep pages (large `skip`) therefore skip index entries, not table rows.
-- SQLite has no INCLUDE: the window columns trail the key.
DROP INDEX events_program_seq;
CREATE INDEX events_program_seq ON events (tenant_id, program_id, seq, start_ms, end_ms);
DROP INDEX events_tenant_seq;
CREATE INDEX events_tenant_seq ON events (tenant_id, seq, start_ms, end_ms);
