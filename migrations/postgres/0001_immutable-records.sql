-- The log head starts at 0: the first event has position 1.
INSERT INTO "log_head" ("id", "last") VALUES (1, 0);
--> statement-breakpoint
-- Events and records are never changed or removed, enforced in the database itself so that no
-- code path (or psql session) can break it. TRUNCATE fires no DELETE trigger, so it has its own.
-- (The role the service runs as should not own these tables: an owner can disable triggers.)
CREATE FUNCTION "doorbell_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% are immutable: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "events_immutable" BEFORE UPDATE OR DELETE ON "events" FOR EACH ROW EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "events_no_truncate" BEFORE TRUNCATE ON "events" FOR EACH STATEMENT EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "msi_resolutions_immutable" BEFORE UPDATE OR DELETE ON "msi_resolutions" FOR EACH ROW EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "msi_resolutions_no_truncate" BEFORE TRUNCATE ON "msi_resolutions" FOR EACH STATEMENT EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "msi_sweeps_immutable" BEFORE UPDATE OR DELETE ON "msi_sweeps" FOR EACH ROW EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "msi_sweeps_no_truncate" BEFORE TRUNCATE ON "msi_sweeps" FOR EACH STATEMENT EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "resolution_bodies_immutable" BEFORE UPDATE OR DELETE ON "resolution_bodies" FOR EACH ROW EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "resolution_bodies_no_truncate" BEFORE TRUNCATE ON "resolution_bodies" FOR EACH STATEMENT EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "fleet_sweeps_immutable" BEFORE UPDATE OR DELETE ON "fleet_sweeps" FOR EACH ROW EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "fleet_sweeps_no_truncate" BEFORE TRUNCATE ON "fleet_sweeps" FOR EACH STATEMENT EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
-- The head only moves forward, and one event at a time per position: an append sets it to the
-- position of its last event, which must be exactly the events it inserted.
CREATE FUNCTION "doorbell_head_forward"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW."last" < OLD."last" OR NEW."id" <> OLD."id" THEN
		RAISE EXCEPTION 'log_head only moves forward' USING ERRCODE = 'restrict_violation';
	END IF;
	IF (SELECT count(*) FROM "events" WHERE "position" > OLD."last" AND "position" <= NEW."last") <> NEW."last" - OLD."last" THEN
		RAISE EXCEPTION 'log_head must move over exactly the events appended (gap-free log)' USING ERRCODE = 'restrict_violation';
	END IF;
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "log_head_forward" BEFORE UPDATE ON "log_head" FOR EACH ROW EXECUTE FUNCTION "doorbell_head_forward"();
--> statement-breakpoint
CREATE TRIGGER "log_head_no_delete" BEFORE DELETE ON "log_head" FOR EACH ROW EXECUTE FUNCTION "doorbell_refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "log_head_no_truncate" BEFORE TRUNCATE ON "log_head" FOR EACH STATEMENT EXECUTE FUNCTION "doorbell_refuse_change"();
