-- Issue 4, providers API: credential health (served by GET /ai-providers/health), the last
-- health check of each model rate (model_statuses) and the history of rate changes.

-- CreateTable
CREATE TABLE "credential_health" (
    "credential_id" UUID NOT NULL,
    "healthy" BOOLEAN NOT NULL DEFAULT true,
    "recent_failures" TIMESTAMPTZ(6)[],
    "failure_count" INTEGER NOT NULL DEFAULT 0,
    "success_count" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_failure_at" TIMESTAMPTZ(6),
    "last_success_at" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credential_health_pkey" PRIMARY KEY ("credential_id")
);

-- CreateTable
CREATE TABLE "model_statuses" (
    "id" UUID NOT NULL,
    "rate_id" UUID NOT NULL,
    "status" TEXT NOT NULL,
    "latency_ms" INTEGER,
    "upstream_status" INTEGER,
    "error" TEXT,
    "credential_id" UUID,
    "last_checked" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "model_statuses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "model_rate_history" (
    "id" UUID NOT NULL,
    "rate_id" UUID,
    "provider_id" UUID NOT NULL,
    "provider_name" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL,
    "action" TEXT NOT NULL,
    "reason" TEXT NOT NULL DEFAULT '',
    "old_input_rate" DECIMAL(38,18),
    "new_input_rate" DECIMAL(38,18),
    "old_output_rate" DECIMAL(38,18),
    "new_output_rate" DECIMAL(38,18),
    "old_input_unit_cost" DECIMAL(38,18),
    "new_input_unit_cost" DECIMAL(38,18),
    "old_output_unit_cost" DECIMAL(38,18),
    "new_output_unit_cost" DECIMAL(38,18),
    "parameters" JSONB,
    "changed_by_id" UUID,
    "changed_by_email" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_rate_history_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "model_statuses_rate_id_key" ON "model_statuses"("rate_id");

-- CreateIndex
CREATE INDEX "model_rate_history_rate_id_created_at_idx" ON "model_rate_history"("rate_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "model_rate_history_created_at_idx" ON "model_rate_history"("created_at" DESC);

-- AddForeignKey
ALTER TABLE "credential_health" ADD CONSTRAINT "credential_health_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "ai_credentials"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_statuses" ADD CONSTRAINT "model_statuses_rate_id_fkey" FOREIGN KEY ("rate_id") REFERENCES "model_rates"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_rate_history" ADD CONSTRAINT "model_rate_history_rate_id_fkey" FOREIGN KEY ("rate_id") REFERENCES "model_rates"("id") ON DELETE SET NULL ON UPDATE CASCADE;
