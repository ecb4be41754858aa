-- Fleet sweep records are never changed or removed, as msi_sweeps (0001_immutable-records).
CREATE TRIGGER `fleet_sweeps_no_update` BEFORE UPDATE ON `fleet_sweeps`
BEGIN
	SELECT RAISE(ABORT, 'fleet sweep records are immutable');
END;
--> statement-breakpoint
CREATE TRIGGER `fleet_sweeps_no_delete` BEFORE DELETE ON `fleet_sweeps`
BEGIN
	SELECT RAISE(ABORT, 'fleet sweep records are immutable');
END;
