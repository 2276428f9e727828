-- AlterTable
ALTER TABLE "events" ADD COLUMN     "position" BIGINT;

-- The events written before this migration keep their order: their ids were their order.
UPDATE "events" SET "position" = "id";

-- CreateIndex
CREATE UNIQUE INDEX "events_position_key" ON "events"("position");

-- The events the feed has not placed yet (normally none, or the last few committed).
CREATE INDEX "events_unplaced_idx" ON "events"("id") WHERE "position" IS NULL;
