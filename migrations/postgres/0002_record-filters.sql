ALTER TABLE "msi_resolutions" ADD COLUMN "device" text;--> statement-breakpoint
ALTER TABLE "msi_resolutions" ADD COLUMN "semantics" text;--> statement-breakpoint
ALTER TABLE "msi_resolutions" ADD COLUMN "installed" boolean;--> statement-breakpoint
ALTER TABLE "msi_resolutions" ADD COLUMN "misrouted_before_fix" boolean;--> statement-breakpoint
ALTER TABLE "msi_sweeps" ADD COLUMN "semantics" text;--> statement-breakpoint
ALTER TABLE "msi_sweeps" ADD COLUMN "misrouted_before_fix" integer;--> statement-breakpoint
ALTER TABLE "msi_sweeps" ADD COLUMN "routes_missing" integer;--> statement-breakpoint
CREATE INDEX "events_type_position" ON "events" USING btree ("type","position");--> statement-breakpoint
CREATE INDEX "msi_resolutions_device" ON "msi_resolutions" USING btree ("device","seq");