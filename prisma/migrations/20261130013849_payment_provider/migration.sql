-- CreateEnum
CREATE TYPE "payment_attempt_state" AS ENUM ('in_flight', 'recorded', 'refunded', 'abandoned');

-- DropIndex
DROP INDEX "refunds_order_id_key";

-- AlterTable
ALTER TABLE "payments" ADD COLUMN     "provider_payment_id" TEXT;

-- AlterTable
ALTER TABLE "refunds" ADD COLUMN     "provider_payment_id" TEXT,
ADD COLUMN     "provider_refund_id" TEXT,
ADD COLUMN     "refunded_at" TIMESTAMPTZ(3),
ALTER COLUMN "payment_id" DROP NOT NULL;

-- CreateTable
CREATE TABLE "payment_attempts" (
    "id" SERIAL NOT NULL,
    "order_id" INTEGER NOT NULL,
    "order_version" INTEGER NOT NULL,
    "attempt_no" INTEGER NOT NULL,
    "provider_key" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "method" TEXT NOT NULL,
    "state" "payment_attempt_state" NOT NULL DEFAULT 'in_flight',
    "provider_payment_id" TEXT,
    "actor_role" "actor_role" NOT NULL,
    "actor_id" INTEGER NOT NULL,
    "idempotency_key" TEXT,
    "fingerprint" TEXT,
    "last_call_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settled_at" TIMESTAMPTZ(3),

    CONSTRAINT "payment_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payment_attempts_provider_key_key" ON "payment_attempts"("provider_key");

-- CreateIndex
CREATE INDEX "payment_attempts_state_last_call_at_idx" ON "payment_attempts"("state", "last_call_at");

-- CreateIndex
CREATE UNIQUE INDEX "payment_attempts_order_id_order_version_attempt_no_key" ON "payment_attempts"("order_id", "order_version", "attempt_no");

-- CreateIndex
CREATE UNIQUE INDEX "payments_provider_payment_id_key" ON "payments"("provider_payment_id");

-- CreateIndex
CREATE UNIQUE INDEX "refunds_provider_payment_id_key" ON "refunds"("provider_payment_id");

-- CreateIndex
CREATE UNIQUE INDEX "refunds_provider_refund_id_key" ON "refunds"("provider_refund_id");

-- CreateIndex
CREATE INDEX "refunds_order_id_idx" ON "refunds"("order_id");

-- AddForeignKey
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written (Prisma cannot express these): at most one charge of an order is in flight at the provider, so two
-- devices paying with different methods can never both be charged.
CREATE UNIQUE INDEX "payment_attempts_one_in_flight_per_order" ON "payment_attempts"("order_id") WHERE "state" = 'in_flight';
