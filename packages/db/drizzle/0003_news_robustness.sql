DROP INDEX "articles_content_hash_key";--> statement-breakpoint
ALTER TABLE "articles" ADD COLUMN "fetched_on" date GENERATED ALWAYS AS ((fetched_at AT TIME ZONE 'UTC')::date) STORED;--> statement-breakpoint
ALTER TABLE "channel_posts" ADD COLUMN "article_ids" bigint[] DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE "channel_posts" ADD COLUMN "edit_text" text;--> statement-breakpoint
ALTER TABLE "channel_posts" ADD COLUMN "edit_article_ids" bigint[];--> statement-breakpoint
ALTER TABLE "channel_posts" ADD COLUMN "edit_epoch" bigint;--> statement-breakpoint
ALTER TABLE "channel_posts" ADD COLUMN "edited_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "stories" ADD COLUMN "keyed_by" text;--> statement-breakpoint
CREATE UNIQUE INDEX "articles_source_content_day_key" ON "articles" USING btree ("source_id","content_hash","fetched_on");--> statement-breakpoint
-- Posts made before links were tracked carry every article their story had then.
UPDATE "channel_posts" p SET "article_ids" = coalesce(
  (SELECT array_agg(a."id" ORDER BY a."id") FROM "articles" a WHERE a."story_id" = p."story_id"),
  '{}');
