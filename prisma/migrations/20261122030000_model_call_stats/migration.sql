-- Model calls and usage (issue 4): hourly pre-aggregates of the call log and their watermark.

-- AlterTable: when a row was inserted (the recorder leaves the default), so the aggregation can
-- find calls recorded after their hour was aggregated. A constant default: no table rewrite.
ALTER TABLE "model_calls" ADD COLUMN "recorded_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "model_call_hourly_stats" (
    "hour" TIMESTAMPTZ(6) NOT NULL,
    "user_id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL,
    "status" "ModelCallStatus" NOT NULL,
    "calls" INTEGER NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "completion_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "credits" DECIMAL(38,10) NOT NULL,
    "duration_ms" BIGINT NOT NULL,

    CONSTRAINT "model_call_hourly_stats_pkey" PRIMARY KEY ("user_id","hour","model","type","status")
);

-- CreateTable
CREATE TABLE "model_call_stats_state" (
    "id" INTEGER NOT NULL,
    "hour_watermark" TIMESTAMPTZ(6),
    "recorded_watermark" TIMESTAMPTZ(6),
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_call_stats_state_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "model_calls_recorded_at_idx" ON "model_calls"("recorded_at");

-- CreateIndex
CREATE INDEX "model_call_hourly_stats_hour_idx" ON "model_call_hourly_stats"("hour");

-- AddForeignKey
ALTER TABLE "model_call_hourly_stats" ADD CONSTRAINT "model_call_hourly_stats_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
