-- Usage dashboards at volume: an all-users hourly rollup of the call log, so GET
-- /user/admin/user-stats and the all-users call count read ~tens of rows per hour instead of one
-- row per user (docs/api/model-calls.md, bench/README.md "Dashboards").

-- CreateTable: model_call_hourly_stats summed over users, per (hour, model, type, status). Written
-- only by the hourly aggregation job, in the same transactions as model_call_hourly_stats
-- (src/model-calls/hourly-aggregation.service.ts), so both always cover the same calls.
CREATE TABLE "model_call_hourly_totals" (
    "hour" TIMESTAMPTZ(6) NOT NULL,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL,
    "status" "ModelCallStatus" NOT NULL,
    "calls" BIGINT NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "completion_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "credits" DECIMAL(38,10) NOT NULL,
    "duration_ms" BIGINT NOT NULL,

    CONSTRAINT "model_call_hourly_totals_pkey" PRIMARY KEY ("hour","model","type","status")
);

-- Backfill from the per-user aggregates already there (the same calls, summed over users).
INSERT INTO "model_call_hourly_totals"
    ("hour", "model", "type", "status", "calls", "prompt_tokens", "completion_tokens", "total_tokens", "credits", "duration_ms")
SELECT "hour", "model", "type", "status", sum("calls"), sum("prompt_tokens"), sum("completion_tokens"), sum("total_tokens"),
    sum("credits"), sum("duration_ms")
FROM "model_call_hourly_stats"
GROUP BY 1, 2, 3, 4;
