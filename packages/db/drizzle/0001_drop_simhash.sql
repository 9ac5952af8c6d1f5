ALTER TABLE "channel_posts" ADD COLUMN "state" text DEFAULT 'sending' NOT NULL;--> statement-breakpoint
CREATE INDEX "channel_posts_sending_idx" ON "channel_posts" USING btree ("channel_id") WHERE state = 'sending';--> statement-breakpoint
ALTER TABLE "stories" DROP COLUMN "simhash";