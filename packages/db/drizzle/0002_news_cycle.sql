ALTER TABLE "stories" ADD COLUMN "relevant" boolean;--> statement-breakpoint
ALTER TABLE "stories" ADD COLUMN "verdict_reason" text;--> statement-breakpoint
ALTER TABLE "stories" ADD COLUMN "verdict_by" text;--> statement-breakpoint
ALTER TABLE "stories" ADD COLUMN "summary" text;--> statement-breakpoint
ALTER TABLE "stories" ADD COLUMN "signature" "bytea" NOT NULL;