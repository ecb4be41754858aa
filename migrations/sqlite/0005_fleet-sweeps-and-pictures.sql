CREATE TABLE `fleet_sweeps` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`body` text NOT NULL,
	`results` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fleet_sweeps_id_unique` ON `fleet_sweeps` (`id`);--> statement-breakpoint
ALTER TABLE `msi_resolutions` ADD `picture` text;