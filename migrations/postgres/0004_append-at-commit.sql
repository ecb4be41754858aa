ALTER TABLE "idempotency_keys" ADD COLUMN "position_shift" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- One append in one call, everything the log head is held for (src/db/pg/event-store.ts). The node
-- planned its events on provisional positions (planned_after + 1, ...) and on the stream versions
-- it read without a lock; here, holding log_head, each stream must still be where the plan found
-- it, and the events take their real positions: the head + their place in the batch. Each
-- statement of a VOLATILE function reads a fresh snapshot under READ COMMITTED, so the check sees
-- every append committed before the row was granted. A stream that moved raises STALE_POSITION
-- (SQLSTATE 40001): the node plans that batch again. The stored answers keep their provisional
-- positions with the shift that makes them real (idempotency_keys.position_shift). Returns the
-- position the events were placed after and the server's clock when the row was granted.
CREATE FUNCTION "doorbell_append"(planned_after bigint, expected json, new_events json, answers json)
RETURNS TABLE ("after_position" bigint, "held_from" double precision) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	head bigint;
	moved text;
	added bigint;
BEGIN
	SELECT "last" INTO head FROM "log_head" WHERE "id" = 1 FOR UPDATE;
	held_from := extract(epoch FROM clock_timestamp());
	SELECT string_agg(format('%s is at version %s, not %s', s.id, coalesce(v.version, 0), s.version), '; ') INTO moved
		FROM json_to_recordset(expected) AS s(id text, version integer)
		CROSS JOIN LATERAL (SELECT max("stream_version") AS version FROM "events" WHERE "stream_id" = s.id) AS v
		WHERE coalesce(v.version, 0) <> s.version;
	IF moved IS NOT NULL THEN
		RAISE EXCEPTION 'STALE_POSITION: moved since the plan: %', moved USING ERRCODE = 'serialization_failure';
	END IF;
	INSERT INTO "events" ("position", "event_id", "stream_id", "stream_version", "type", "schema_version", "data", "metadata", "occurred_at")
		SELECT e."position" - planned_after + head, e."event_id", e."stream_id", e."stream_version", e."type", e."schema_version", e."data", e."metadata", e."occurred_at"
		FROM json_populate_recordset(NULL::"events", new_events) AS e;
	GET DIAGNOSTICS added = ROW_COUNT;
	INSERT INTO "idempotency_keys" ("key", "fingerprint", "status", "headers", "body", "created_at", "position_shift")
		SELECT a."key", a."fingerprint", a."status", a."headers", a."body", a."created_at", head - planned_after
		FROM json_populate_recordset(NULL::"idempotency_keys", answers) AS a;
	IF added > 0 THEN
		UPDATE "log_head" SET "last" = head + added WHERE "id" = 1;
		PERFORM pg_notify('doorbell_events', (head + added)::text);
	END IF;
	after_position := head;
	RETURN NEXT;
END;
$$;
