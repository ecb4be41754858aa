CREATE TABLE "stream_tickets" (
	"digest" text PRIMARY KEY NOT NULL,
	"token_id" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhook_deliveries_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"hook_id" text NOT NULL,
	"position" bigint NOT NULL,
	"event_type" text NOT NULL,
	"message_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" text NOT NULL,
	"http_status" integer,
	"error" text,
	"attempted_at" text NOT NULL,
	"latency_ms" integer NOT NULL,
	"response_excerpt" text,
	"node" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "webhooks_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"url" text NOT NULL,
	"event_types" text NOT NULL,
	"vms" text NOT NULL,
	"enabled" boolean NOT NULL,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_secret_until" bigint,
	"created_at" text NOT NULL,
	"updated_at" text NOT NULL,
	"cursor" bigint NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"failing_since" bigint,
	"next_attempt_at" bigint,
	"disabled_reason" text,
	"lease_owner" text,
	"lease_until" bigint,
	CONSTRAINT "webhooks_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_hook" ON "webhook_deliveries" USING btree ("hook_id","seq");