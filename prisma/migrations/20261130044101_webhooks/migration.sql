-- CreateEnum
CREATE TYPE "webhook_delivery_state" AS ENUM ('pending', 'delivered', 'abandoned');

-- CreateTable
CREATE TABLE "webhook_endpoints" (
    "id" SERIAL NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[],
    "secret_ciphertext" TEXT NOT NULL,
    "owner_role" "actor_role" NOT NULL,
    "owner_id" INTEGER NOT NULL,
    "restaurant_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "failing_since" TIMESTAMPTZ(3),
    "disabled_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "endpoint_id" INTEGER NOT NULL,
    "event_id" BIGINT NOT NULL,
    "order_id" INTEGER NOT NULL,
    "state" "webhook_delivery_state" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_attempts" (
    "id" BIGSERIAL NOT NULL,
    "endpoint_id" INTEGER NOT NULL,
    "event_id" BIGINT NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "status_code" INTEGER,
    "error" TEXT,
    "duration_ms" INTEGER NOT NULL,
    "next_retry_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_endpoints_owner_role_owner_id_idx" ON "webhook_endpoints"("owner_role", "owner_id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_endpoint_id_state_order_id_event_id_idx" ON "webhook_deliveries"("endpoint_id", "state", "order_id", "event_id");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_endpoint_id_event_id_key" ON "webhook_deliveries"("endpoint_id", "event_id");

-- CreateIndex
CREATE INDEX "webhook_attempts_endpoint_id_id_idx" ON "webhook_attempts"("endpoint_id", "id");

-- CreateIndex
CREATE INDEX "events_created_at_idx" ON "events"("created_at");

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "events"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Fan-out (SPEC §9): every event owed to an endpoint becomes a delivery row, in the transaction that writes the event,
-- and wakes that endpoint's delivery job (graphile-worker: one job per endpoint, serialised by its named queue).
-- A trigger, so that every writer of events (the compare-and-swap, order creation, refunds) fans out the same way.
-- Without endpoints it costs one index probe.
CREATE FUNCTION fan_out_event_to_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  endpoint integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_at IS NULL AND disabled_at IS NULL) THEN
    RETURN NULL;
  END IF;
  FOR endpoint IN
    INSERT INTO webhook_deliveries (endpoint_id, event_id, order_id)
    SELECT e.id, NEW.id, NEW.order_id
      FROM webhook_endpoints e
     WHERE e.deleted_at IS NULL AND e.disabled_at IS NULL
       AND (NEW.type = ANY (e.events) OR '*' = ANY (e.events))
       AND (e.restaurant_id IS NULL OR e.restaurant_id = (SELECT restaurant_id FROM orders WHERE id = NEW.order_id))
    RETURNING endpoint_id
  LOOP
    PERFORM graphile_worker.add_job('deliver_webhooks', json_build_object('endpointId', endpoint),
      queue_name := 'webhooks:' || endpoint, job_key := 'webhooks:' || endpoint);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER events_fan_out_to_webhooks AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION fan_out_event_to_webhooks();

-- Only live endpoints are looked at when an event is written.
CREATE INDEX "webhook_endpoints_live_idx" ON "webhook_endpoints"("restaurant_id") WHERE deleted_at IS NULL AND disabled_at IS NULL;

-- What the delivery job reads: an endpoint's pending deliveries in event order, and an order's earlier pending one.
CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries"("endpoint_id", "event_id") WHERE state = 'pending';
CREATE INDEX "webhook_deliveries_pending_order_idx" ON "webhook_deliveries"("endpoint_id", "order_id", "event_id") WHERE state = 'pending';
