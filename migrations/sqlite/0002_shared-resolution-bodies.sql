CREATE TABLE `resolution_bodies` (
	`hash` text PRIMARY KEY NOT NULL,
	`codec` text NOT NULL,
	`packed` blob NOT NULL
);
--> statement-breakpoint
ALTER TABLE `msi_resolutions` ADD `body_hash` text REFERENCES resolution_bodies(hash);--> statement-breakpoint
CREATE INDEX `msi_resolutions_sweep` ON `msi_resolutions` (`sweep_id`,`seq`);--> statement-breakpoint
ALTER TABLE `msi_sweeps` ADD `format` text DEFAULT 'json' NOT NULL;