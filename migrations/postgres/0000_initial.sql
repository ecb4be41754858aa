CREATE TABLE "api_tokens" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "api_tokens_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"name" text NOT NULL,
	"scopes" text NOT NULL,
	"secret_hash" text NOT NULL,
	"created_at" text NOT NULL,
	"expires_at" text,
	"last_used_at" text,
	"revoked_at" text,
	CONSTRAINT "api_tokens_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"position" bigint PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"stream_id" text NOT NULL,
	"stream_version" integer NOT NULL,
	"type" text NOT NULL,
	"schema_version" integer NOT NULL,
	"data" text NOT NULL,
	"metadata" text NOT NULL,
	"occurred_at" text NOT NULL,
	CONSTRAINT "events_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE TABLE "fleet_sweeps" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "fleet_sweeps_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"body" text NOT NULL,
	"results" text NOT NULL,
	"created_at" text NOT NULL,
	CONSTRAINT "fleet_sweeps_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"status" integer NOT NULL,
	"headers" text NOT NULL,
	"body" text NOT NULL,
	"created_at" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_head" (
	"id" smallint PRIMARY KEY NOT NULL,
	"last" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "msi_resolutions" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "msi_resolutions_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"vm_id" text NOT NULL,
	"sweep_id" text,
	"body" text NOT NULL,
	"body_hash" text,
	"picture" text,
	"created_at" text NOT NULL,
	CONSTRAINT "msi_resolutions_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "msi_sweeps" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "msi_sweeps_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"vm_id" text NOT NULL,
	"body" text NOT NULL,
	"format" text DEFAULT 'json' NOT NULL,
	"created_at" text NOT NULL,
	CONSTRAINT "msi_sweeps_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "resolution_bodies" (
	"hash" text PRIMARY KEY NOT NULL,
	"codec" text NOT NULL,
	"packed" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "msi_resolutions" ADD CONSTRAINT "msi_resolutions_body_hash_resolution_bodies_hash_fk" FOREIGN KEY ("body_hash") REFERENCES "public"."resolution_bodies"("hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_live_name" ON "api_tokens" USING btree ("name") WHERE "api_tokens"."revoked_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "events_stream_version" ON "events" USING btree ("stream_id","stream_version");--> statement-breakpoint
CREATE INDEX "msi_resolutions_vm" ON "msi_resolutions" USING btree ("vm_id","seq");--> statement-breakpoint
CREATE INDEX "msi_resolutions_sweep" ON "msi_resolutions" USING btree ("sweep_id","seq");--> statement-breakpoint
CREATE INDEX "msi_sweeps_vm" ON "msi_sweeps" USING btree ("vm_id","seq");