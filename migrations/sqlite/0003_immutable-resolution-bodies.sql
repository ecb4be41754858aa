-- A shared resolution body is part of every record that names it: never changed or removed.
CREATE TRIGGER `resolution_bodies_no_update` BEFORE UPDATE ON `resolution_bodies`
BEGIN
	SELECT RAISE(ABORT, 'resolution bodies are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `resolution_bodies_no_delete` BEFORE DELETE ON `resolution_bodies`
BEGIN
	SELECT RAISE(ABORT, 'resolution bodies are immutable');
END;
