-- Call recording: interrupted calls, holds that describe their call, admission by worst case.
-- See docs/call-recording.md for the rules these functions implement.

-- AlterEnum: a call whose api process ended before it finished (found by its orphaned hold).
-- Added inside the migration's transaction; nothing below uses the value before commit (plpgsql
-- bodies are resolved when first run).
ALTER TYPE "ModelCallStatus" ADD VALUE 'interrupted';

-- AlterTable: a hold is the start-of-call record. It carries what the worker needs to write the
-- call's row if the api process dies mid-call; the api renews `expires_at` while the call runs.
ALTER TABLE "credit_holds"
    ADD COLUMN "api_key_id" UUID,
    ADD COLUMN "provider_id" UUID,
    ADD COLUMN "model" TEXT NOT NULL DEFAULT '',
    ADD COLUMN "type" "ModelType" NOT NULL DEFAULT 'chatCompletion',
    ADD COLUMN "stream" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "request_id" TEXT NOT NULL DEFAULT '',
    ADD COLUMN "app_did" TEXT,
    ADD COLUMN "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "input_rate" DECIMAL(38,18) NOT NULL DEFAULT 0,
    ADD COLUMN "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- The hold statement: admits a call only if its worst case fits in what is not held yet
-- (balance - held >= amount, and something is left: balance - held > 0). With p_enforce false
-- (credit billing off) it only writes the start-of-call row (amount 0) and admits.
DROP FUNCTION "tollgate_credit_hold"(UUID, UUID, DECIMAL, INTEGER);
CREATE FUNCTION "tollgate_credit_hold"(
    p_user UUID, p_call UUID, p_amount DECIMAL, p_ttl_seconds INTEGER, p_enforce BOOLEAN,
    p_api_key UUID, p_provider UUID, p_model TEXT, p_type "ModelType", p_stream BOOLEAN,
    p_request_id TEXT, p_app_did TEXT, p_prompt_tokens INTEGER, p_input_rate DECIMAL, p_created_at TIMESTAMPTZ)
RETURNS TABLE ("admitted" BOOLEAN, "balance" DECIMAL, "held" DECIMAL)
LANGUAGE plpgsql AS $$
DECLARE
    v_balance DECIMAL;
    v_held DECIMAL;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_enforce THEN
        UPDATE "credit_accounts" a SET "held" = a."held" + p_amount
            WHERE a."user_id" = p_user AND a."balance" - a."held" >= p_amount AND a."balance" - a."held" > 0
            RETURNING a."balance", a."held" - p_amount INTO v_balance, v_held;
        IF NOT FOUND THEN
            SELECT a."balance", a."held" INTO v_balance, v_held FROM "credit_accounts" a WHERE a."user_id" = p_user;
            RETURN QUERY SELECT false, COALESCE(v_balance, 0), COALESCE(v_held, 0);
            RETURN;
        END IF;
    END IF;
    INSERT INTO "credit_holds" ("call_id", "user_id", "amount", "expires_at", "api_key_id", "provider_id", "model",
        "type", "stream", "request_id", "app_did", "prompt_tokens", "input_rate", "created_at")
    VALUES (p_call, p_user, CASE WHEN p_enforce THEN p_amount ELSE 0 END, now() + make_interval(secs => p_ttl_seconds),
        p_api_key, p_provider, p_model, p_type, p_stream, p_request_id, p_app_did, p_prompt_tokens, p_input_rate, p_created_at);
    RETURN QUERY SELECT true, COALESCE(v_balance, 0), COALESCE(v_held, 0);
END;
$$;

-- Replaced by tollgate_interrupt_orphaned_calls: an expired hold is a call whose process died, and
-- it becomes an `interrupted` call rather than silently disappearing.
DROP FUNCTION "tollgate_release_expired_holds"();

-- Turns holds past their expiry (their api process stopped renewing them: it died) into
-- `interrupted` calls: one model_calls row each (skipped if the call was recorded after all),
-- billed for the prompt estimate at the input rate, never more than the hold; then settles them
-- like any recorded call (tollgate_apply_debits: debit once, release the hold).
-- Returns how many calls were written and how many holds were settled.
CREATE FUNCTION "tollgate_interrupt_orphaned_calls"(p_limit INTEGER)
RETURNS TABLE ("interrupted" INTEGER, "settled" INTEGER)
LANGUAGE plpgsql AS $$
DECLARE
    v_ids UUID[];
    v_written INTEGER;
BEGIN
    SELECT COALESCE(array_agg(h."call_id"), '{}') INTO v_ids FROM (
        SELECT h."call_id" FROM "credit_holds" h WHERE h."expires_at" <= now()
        ORDER BY h."expires_at" LIMIT p_limit) h;
    IF cardinality(v_ids) = 0 THEN
        RETURN QUERY SELECT 0, 0;
        RETURN;
    END IF;
    WITH orphan AS (
        SELECT h.*, CASE WHEN h."amount" > 0
            THEN LEAST(h."amount", round(h."prompt_tokens" * h."input_rate", 10)) ELSE 0 END AS "credits"
        FROM "credit_holds" h
        WHERE h."call_id" = ANY(v_ids) AND EXISTS (SELECT 1 FROM "users" u WHERE u."id" = h."user_id")
    ),
    calls AS (
        INSERT INTO "model_calls" ("id", "user_id", "api_key_id", "provider_id", "model", "type", "status", "stream",
            "prompt_tokens", "completion_tokens", "total_tokens", "usage_source", "credits", "duration_ms", "app_did",
            "request_id", "error_code", "error_message", "created_at")
        SELECT o."call_id", o."user_id",
            (SELECT k."id" FROM "api_keys" k WHERE k."id" = o."api_key_id"),
            (SELECT p."id" FROM "ai_providers" p WHERE p."id" = o."provider_id"),
            o."model", o."type", 'interrupted', o."stream", o."prompt_tokens", 0, o."prompt_tokens", 'estimate',
            o."credits", LEAST(2147483647, GREATEST(0, floor(extract(epoch FROM (now() - o."created_at")) * 1000)))::INTEGER,
            o."app_did", o."request_id", 'interrupted',
            'The api process ended before the call finished; billed for the estimated prompt', o."created_at"
        FROM orphan o
        ON CONFLICT ("id") DO NOTHING
        RETURNING "id", "user_id", "credits", "model"
    ),
    pending AS (
        INSERT INTO "pending_debits" ("call_id", "user_id", "credits", "model")
        SELECT c."id", c."user_id", c."credits", c."model" FROM calls c WHERE c."credits" > 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM calls)::INTEGER INTO v_written;
    RETURN QUERY SELECT v_written, (SELECT d."released" FROM "tollgate_apply_debits"(v_ids) d);
END;
$$;
