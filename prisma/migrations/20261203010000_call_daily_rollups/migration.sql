-- Usage dashboards at volume: daily levels over the hourly aggregates. With ~1000 active users
-- the per-user hourly rows barely compress the log (one row per user, hour, model, type and
-- status: 7.2M rows for 10M calls), so a 90-day range of a heavy user read ~65k rows; whole UTC
-- days now come from one row per user, day, model, type and status (docs/api/model-calls.md,
-- bench/README.md "Dashboards").

-- CreateTable: model_call_hourly_stats summed per UTC day, for complete days only (the day ends
-- at or before the hour watermark). Written only by the hourly aggregation job, in the same
-- transactions as the hourly rows (src/model-calls/hourly-aggregation.service.ts).
CREATE TABLE "model_call_daily_stats" (
    "day" TIMESTAMPTZ(6) NOT NULL,
    "user_id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL,
    "status" "ModelCallStatus" NOT NULL,
    "calls" BIGINT NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "completion_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "credits" DECIMAL(38,10) NOT NULL,
    "duration_ms" BIGINT NOT NULL,

    CONSTRAINT "model_call_daily_stats_pkey" PRIMARY KEY ("user_id","day","model","type","status")
);

-- CreateTable: model_call_hourly_totals summed per UTC day (complete days only), every user.
CREATE TABLE "model_call_daily_totals" (
    "day" TIMESTAMPTZ(6) NOT NULL,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL,
    "status" "ModelCallStatus" NOT NULL,
    "calls" BIGINT NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "completion_tokens" BIGINT NOT NULL,
    "total_tokens" BIGINT NOT NULL,
    "credits" DECIMAL(38,10) NOT NULL,
    "duration_ms" BIGINT NOT NULL,

    CONSTRAINT "model_call_daily_totals_pkey" PRIMARY KEY ("day","model","type","status")
);

-- AddForeignKey
ALTER TABLE "model_call_daily_stats" ADD CONSTRAINT "model_call_daily_stats_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill the complete days (before the UTC day of the hour watermark) from the hourly rows.
INSERT INTO "model_call_daily_stats"
    ("day", "user_id", "model", "type", "status", "calls", "prompt_tokens", "completion_tokens", "total_tokens", "credits", "duration_ms")
SELECT date_trunc('day', s."hour", 'UTC'), s."user_id", s."model", s."type", s."status", sum(s."calls"), sum(s."prompt_tokens"),
    sum(s."completion_tokens"), sum(s."total_tokens"), sum(s."credits"), sum(s."duration_ms")
FROM "model_call_hourly_stats" s
JOIN "model_call_stats_state" st ON st."id" = 1 AND st."hour_watermark" IS NOT NULL
WHERE s."hour" < date_trunc('day', st."hour_watermark", 'UTC')
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO "model_call_daily_totals"
    ("day", "model", "type", "status", "calls", "prompt_tokens", "completion_tokens", "total_tokens", "credits", "duration_ms")
SELECT date_trunc('day', t."hour", 'UTC'), t."model", t."type", t."status", sum(t."calls"), sum(t."prompt_tokens"),
    sum(t."completion_tokens"), sum(t."total_tokens"), sum(t."credits"), sum(t."duration_ms")
FROM "model_call_hourly_totals" t
JOIN "model_call_stats_state" st ON st."id" = 1 AND st."hour_watermark" IS NOT NULL
WHERE t."hour" < date_trunc('day', st."hour_watermark", 'UTC')
GROUP BY 1, 2, 3, 4;
