CREATE TABLE `stream_tickets` (
	`digest` text PRIMARY KEY NOT NULL,
	`token_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`seq` integer PRIMARY KEY NOT NULL,
	`hook_id` text NOT NULL,
	`position` integer NOT NULL,
	`event_type` text NOT NULL,
	`message_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer,
	`error` text,
	`attempted_at` text NOT NULL,
	`latency_ms` integer NOT NULL,
	`response_excerpt` text,
	`node` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_hook` ON `webhook_deliveries` (`hook_id`,`seq`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`url` text NOT NULL,
	`event_types` text NOT NULL,
	`vms` text NOT NULL,
	`enabled` integer NOT NULL,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_secret_until` integer,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`cursor` integer NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`failing_since` integer,
	`next_attempt_at` integer,
	`disabled_reason` text,
	`lease_owner` text,
	`lease_until` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhooks_id_unique` ON `webhooks` (`id`);