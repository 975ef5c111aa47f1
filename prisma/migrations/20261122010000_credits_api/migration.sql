-- Issue 4 "Users and credits": grant expiry bookkeeping, a transactions index for the type
-- filter (and the expiry job's refund/adjustment sum), and the runtime settings table.

-- AlterTable
ALTER TABLE "credit_grants" ADD COLUMN "expired_amount" DECIMAL(38,10),
ADD COLUMN "expired_at" TIMESTAMPTZ(6);

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "credit_grants_expires_at_idx" ON "credit_grants"("expires_at");

-- CreateIndex
CREATE INDEX "credit_transactions_user_id_type_created_at_idx" ON "credit_transactions"("user_id", "type", "created_at" DESC);
