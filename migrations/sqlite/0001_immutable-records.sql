-- Stored events and resolution records are never changed or removed, and the log has no gaps.
-- This is enforced here, in the database, so that no code path (or sqlite3 shell) can break it.
CREATE TRIGGER `events_no_update` BEFORE UPDATE ON `events`
BEGIN
	SELECT RAISE(ABORT, 'events are immutable: an event is never updated');
END;
--> statement-breakpoint
CREATE TRIGGER `events_no_delete` BEFORE DELETE ON `events`
BEGIN
	SELECT RAISE(ABORT, 'events are immutable: an event is never deleted');
END;
--> statement-breakpoint
CREATE TRIGGER `events_contiguous` BEFORE INSERT ON `events`
BEGIN
	SELECT RAISE(ABORT, 'event position must be the next global position (gap-free log)')
	WHERE NEW.`position` <> (SELECT coalesce(max(`position`), 0) + 1 FROM `events`);
	SELECT RAISE(ABORT, 'stream_version must be the next version of the stream')
	WHERE NEW.`stream_version` <> (SELECT coalesce(max(`stream_version`), 0) + 1 FROM `events` WHERE `stream_id` = NEW.`stream_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `msi_resolutions_no_update` BEFORE UPDATE ON `msi_resolutions`
BEGIN
	SELECT RAISE(ABORT, 'resolution records are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `msi_resolutions_no_delete` BEFORE DELETE ON `msi_resolutions`
BEGIN
	SELECT RAISE(ABORT, 'resolution records are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `msi_sweeps_no_update` BEFORE UPDATE ON `msi_sweeps`
BEGIN
	SELECT RAISE(ABORT, 'sweep records are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `msi_sweeps_no_delete` BEFORE DELETE ON `msi_sweeps`
BEGIN
	SELECT RAISE(ABORT, 'sweep records are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `idempotency_keys_no_update` BEFORE UPDATE ON `idempotency_keys`
BEGIN
	SELECT RAISE(ABORT, 'a stored idempotent response is never changed');
END;
