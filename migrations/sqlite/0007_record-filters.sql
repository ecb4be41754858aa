ALTER TABLE `msi_resolutions` ADD `device` text;--> statement-breakpoint
ALTER TABLE `msi_resolutions` ADD `semantics` text;--> statement-breakpoint
ALTER TABLE `msi_resolutions` ADD `installed` integer;--> statement-breakpoint
ALTER TABLE `msi_resolutions` ADD `misrouted_before_fix` integer;--> statement-breakpoint
CREATE INDEX `msi_resolutions_device` ON `msi_resolutions` (`device`,`seq`);--> statement-breakpoint
ALTER TABLE `msi_sweeps` ADD `semantics` text;--> statement-breakpoint
ALTER TABLE `msi_sweeps` ADD `misrouted_before_fix` integer;--> statement-breakpoint
ALTER TABLE `msi_sweeps` ADD `routes_missing` integer;--> statement-breakpoint
CREATE INDEX `events_type_position` ON `events` (`type`,`position`);--> statement-breakpoint
-- Fill the new columns of the records stored before them, from their JSON where it is plain text:
-- sweeps (every format keeps semantics and counts in `body`) and resolutions stored whole. A
-- resolution whose body is shared and compressed (resolution_bodies) cannot be read in SQL: its
-- columns stay NULL, and list filters on them do not match it. Records are otherwise immutable:
-- the triggers are lifted for this one fill and put back as they were.
DROP TRIGGER `msi_resolutions_no_update`;--> statement-breakpoint
UPDATE `msi_resolutions` SET
	`device` = json_extract(`body`, '$.device'),
	`semantics` = json_extract(`body`, '$.semantics'),
	`installed` = json_extract(`body`, '$.route.installed'),
	`misrouted_before_fix` = json_extract(`body`, '$.comparison.misroutedBeforeFix')
WHERE `body` <> '' AND json_valid(`body`);--> statement-breakpoint
CREATE TRIGGER `msi_resolutions_no_update` BEFORE UPDATE ON `msi_resolutions`
BEGIN
	SELECT RAISE(ABORT, 'resolution records are immutable');
END;--> statement-breakpoint
DROP TRIGGER `msi_sweeps_no_update`;--> statement-breakpoint
UPDATE `msi_sweeps` SET
	`semantics` = json_extract(`body`, '$.semantics'),
	`misrouted_before_fix` = json_extract(`body`, '$.counts.misroutedBeforeFix'),
	`routes_missing` = json_extract(`body`, '$.counts.routesMissing')
WHERE json_valid(`body`);--> statement-breakpoint
CREATE TRIGGER `msi_sweeps_no_update` BEFORE UPDATE ON `msi_sweeps`
BEGIN
	SELECT RAISE(ABORT, 'sweep records are immutable');
END;
