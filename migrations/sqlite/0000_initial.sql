CREATE TABLE `events` (
	`position` integer PRIMARY KEY NOT NULL,
	`event_id` text NOT NULL,
	`stream_id` text NOT NULL,
	`stream_version` integer NOT NULL,
	`type` text NOT NULL,
	`schema_version` integer NOT NULL,
	`data` text NOT NULL,
	`metadata` text NOT NULL,
	`occurred_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_event_id_unique` ON `events` (`event_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `events_stream_version` ON `events` (`stream_id`,`stream_version`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`key` text PRIMARY KEY NOT NULL,
	`fingerprint` text NOT NULL,
	`status` integer NOT NULL,
	`headers` text NOT NULL,
	`body` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `msi_resolutions` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`vm_id` text NOT NULL,
	`sweep_id` text,
	`body` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `msi_resolutions_id_unique` ON `msi_resolutions` (`id`);--> statement-breakpoint
CREATE INDEX `msi_resolutions_vm` ON `msi_resolutions` (`vm_id`,`seq`);--> statement-breakpoint
CREATE TABLE `msi_sweeps` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`vm_id` text NOT NULL,
	`body` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `msi_sweeps_id_unique` ON `msi_sweeps` (`id`);--> statement-breakpoint
CREATE INDEX `msi_sweeps_vm` ON `msi_sweeps` (`vm_id`,`seq`);