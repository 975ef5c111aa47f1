-- Tollgate initial schema: users, virtual keys, providers, credentials, model rates,
-- model calls and the credit ledger. Written by hand in Prisma Migrate's layout; it must stay
-- equivalent to prisma/schema.prisma (test/schema-drift.e2e-spec.ts checks it).

-- CreateEnum
CREATE TYPE "UserRole" AS ENUM ('admin', 'user');
CREATE TYPE "UserStatus" AS ENUM ('active', 'disabled');
CREATE TYPE "ModelType" AS ENUM ('chatCompletion', 'embedding', 'imageGeneration');
CREATE TYPE "ModelCallStatus" AS ENUM ('success', 'failed', 'aborted');
CREATE TYPE "CreditTransactionType" AS ENUM ('grant', 'debit', 'refund', 'expiry', 'adjustment');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "did" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "username" TEXT,
    "full_name" TEXT NOT NULL DEFAULT '',
    "avatar" TEXT,
    "password_hash" TEXT,
    "role" "UserRole" NOT NULL DEFAULT 'user',
    "status" "UserStatus" NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "allowed_models" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "expires_at" TIMESTAMPTZ(6),
    "revoked_at" TIMESTAMPTZ(6),
    "last_used_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "ai_providers" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "base_url" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ai_providers_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "ai_credentials" (
    "id" UUID NOT NULL,
    "provider_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "credential_type" TEXT NOT NULL DEFAULT 'api_key',
    "encrypted_value" TEXT NOT NULL,
    "masked_value" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "weight" INTEGER NOT NULL DEFAULT 100,
    "error_count" INTEGER NOT NULL DEFAULT 0,
    "last_error_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ai_credentials_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "model_rates" (
    "id" UUID NOT NULL,
    "provider_id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL DEFAULT 'chatCompletion',
    "input_rate" DECIMAL(38,18) NOT NULL,
    "output_rate" DECIMAL(38,18) NOT NULL,
    "input_unit_cost" DECIMAL(38,18),
    "output_unit_cost" DECIMAL(38,18),
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "model_rates_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "model_calls" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "api_key_id" UUID,
    "provider_id" UUID,
    "credential_id" UUID,
    "model" TEXT NOT NULL,
    "type" "ModelType" NOT NULL,
    "status" "ModelCallStatus" NOT NULL,
    "stream" BOOLEAN NOT NULL DEFAULT false,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "usage_source" TEXT NOT NULL DEFAULT 'upstream',
    "credits" DECIMAL(38,10) NOT NULL DEFAULT 0,
    "duration_ms" INTEGER NOT NULL DEFAULT 0,
    "app_did" TEXT,
    "request_id" TEXT NOT NULL,
    "upstream_status" INTEGER,
    "error_code" TEXT,
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "model_calls_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "credit_accounts" (
    "user_id" UUID NOT NULL,
    "balance" DECIMAL(38,10) NOT NULL DEFAULT 0,
    "held" DECIMAL(38,10) NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "credit_accounts_pkey" PRIMARY KEY ("user_id")
);

CREATE TABLE "credit_grants" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount" DECIMAL(38,10) NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'admin',
    "reason" TEXT NOT NULL DEFAULT '',
    "expires_at" TIMESTAMPTZ(6),
    "idempotency_key" TEXT,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "credit_grants_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "credit_transactions" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "type" "CreditTransactionType" NOT NULL,
    "amount" DECIMAL(38,10) NOT NULL,
    "balance_after" DECIMAL(38,10) NOT NULL,
    "model_call_id" UUID,
    "grant_id" UUID,
    "description" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "credit_transactions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "credit_holds" (
    "call_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount" DECIMAL(38,10) NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT "credit_holds_pkey" PRIMARY KEY ("call_id")
);

CREATE TABLE "pending_debits" (
    "call_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "credits" DECIMAL(38,10) NOT NULL,
    "model" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "pending_debits_pkey" PRIMARY KEY ("call_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_did_key" ON "users"("did");
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");
CREATE INDEX "api_keys_user_id_idx" ON "api_keys"("user_id");
CREATE UNIQUE INDEX "ai_providers_name_key" ON "ai_providers"("name");
CREATE UNIQUE INDEX "ai_credentials_provider_id_name_key" ON "ai_credentials"("provider_id", "name");
CREATE INDEX "model_rates_model_idx" ON "model_rates"("model");
CREATE UNIQUE INDEX "model_rates_provider_id_model_type_key" ON "model_rates"("provider_id", "model", "type");
CREATE INDEX "model_calls_user_id_created_at_idx" ON "model_calls"("user_id", "created_at" DESC);
CREATE INDEX "model_calls_created_at_idx" ON "model_calls"("created_at" DESC);
CREATE UNIQUE INDEX "credit_grants_idempotency_key_key" ON "credit_grants"("idempotency_key");
CREATE INDEX "credit_grants_user_id_created_at_idx" ON "credit_grants"("user_id", "created_at" DESC);
CREATE UNIQUE INDEX "credit_transactions_seq_key" ON "credit_transactions"("seq");
CREATE UNIQUE INDEX "credit_transactions_model_call_id_key" ON "credit_transactions"("model_call_id");
CREATE INDEX "credit_transactions_user_id_created_at_idx" ON "credit_transactions"("user_id", "created_at" DESC);
CREATE INDEX "credit_transactions_grant_id_idx" ON "credit_transactions"("grant_id");
CREATE INDEX "credit_holds_expires_at_idx" ON "credit_holds"("expires_at");
CREATE INDEX "pending_debits_created_at_idx" ON "pending_debits"("created_at");

-- Hot, small tables with constant churn (every call adds and removes a hold and a pending
-- debit; every debit updates an account): vacuum them early so they stay small.
ALTER TABLE "credit_holds" SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE "pending_debits" SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE "credit_accounts" SET (fillfactor = 50, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0);

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ai_credentials" ADD CONSTRAINT "ai_credentials_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "ai_providers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_rates" ADD CONSTRAINT "model_rates_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "ai_providers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_calls" ADD CONSTRAINT "model_calls_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_calls" ADD CONSTRAINT "model_calls_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "model_calls" ADD CONSTRAINT "model_calls_provider_id_fkey" FOREIGN KEY ("provider_id") REFERENCES "ai_providers"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "model_calls" ADD CONSTRAINT "model_calls_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "ai_credentials"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "credit_accounts" ADD CONSTRAINT "credit_accounts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "credit_grants" ADD CONSTRAINT "credit_grants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "credit_transactions" ADD CONSTRAINT "credit_transactions_grant_id_fkey" FOREIGN KEY ("grant_id") REFERENCES "credit_grants"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Credit holds (credits module). Admits a call when the user's balance minus credits held by
-- calls in flight is positive, adds p_amount to `held` and records the hold. The conditional
-- UPDATE takes the account row lock and is re-checked against the latest row after any wait,
-- so concurrent admissions of one user are serialised and cannot both spend the last credits.
-- One round trip on the hot path. Call it as its own statement in autocommit: it switches
-- synchronous_commit off for its transaction (a hold is a reservation, not money; a hold lost
-- in a server crash is simply gone, together with the call it was for).
-- Returns admitted, the balance, and the credits held before this call.
CREATE FUNCTION "tollgate_credit_hold"(p_user UUID, p_call UUID, p_amount DECIMAL, p_ttl_seconds INTEGER)
RETURNS TABLE ("admitted" BOOLEAN, "balance" DECIMAL, "held" DECIMAL)
LANGUAGE plpgsql AS $$
DECLARE
    v_balance DECIMAL;
    v_held DECIMAL;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE "credit_accounts" a SET "held" = a."held" + p_amount
        WHERE a."user_id" = p_user AND a."balance" - a."held" > 0
        RETURNING a."balance", a."held" - p_amount INTO v_balance, v_held;
    IF FOUND THEN
        INSERT INTO "credit_holds" ("call_id", "user_id", "amount", "expires_at")
        VALUES (p_call, p_user, p_amount, now() + make_interval(secs => p_ttl_seconds));
        RETURN QUERY SELECT true, v_balance, v_held;
        RETURN;
    END IF;
    SELECT a."balance", a."held" INTO v_balance, v_held FROM "credit_accounts" a WHERE a."user_id" = p_user;
    RETURN QUERY SELECT false, COALESCE(v_balance, 0), COALESCE(v_held, 0);
END;
$$;

-- Settles recorded calls (credits module): for each listed call, writes its pending debit if
-- it has one (deleting the pending_debits row claims it, so each call is debited exactly once,
-- whoever runs this concurrently) and releases its hold if it has one. Account row locks are
-- taken in user order (no deadlocks between concurrent runs); balances drop by the debits,
-- `held` by the released holds; one debit transaction per call with its balance_after.
-- The calls were recorded durably before; this derived write may commit asynchronously (after a
-- crash the pending_debits rows are still there and the worker's sweep applies them).
CREATE FUNCTION "tollgate_apply_debits"(p_call_ids UUID[])
RETURNS TABLE ("claimed" INTEGER, "debited" INTEGER, "released" INTEGER)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM "credit_accounts" a
        WHERE a."user_id" IN (
            SELECT d."user_id" FROM "pending_debits" d WHERE d."call_id" = ANY(p_call_ids)
            UNION SELECT h."user_id" FROM "credit_holds" h WHERE h."call_id" = ANY(p_call_ids))
        ORDER BY a."user_id" FOR UPDATE;
    RETURN QUERY
    WITH claimed AS (
        DELETE FROM "pending_debits" d WHERE d."call_id" = ANY(p_call_ids)
        RETURNING d."call_id", d."user_id", d."credits", d."model", d."created_at"
    ),
    released AS (
        DELETE FROM "credit_holds" h WHERE h."call_id" = ANY(p_call_ids)
        RETURNING h."user_id", h."amount"
    ),
    per_user AS (
        SELECT x."user_id", sum(x.debit) AS debit, sum(x.unhold) AS unhold FROM (
            SELECT c."user_id", c."credits" AS debit, 0::DECIMAL AS unhold FROM claimed c
            UNION ALL
            SELECT r."user_id", 0::DECIMAL, r."amount" FROM released r
        ) x GROUP BY x."user_id"
    ),
    accounts AS (
        UPDATE "credit_accounts" a
        SET "balance" = a."balance" - p.debit, "held" = a."held" - p.unhold, "updated_at" = now()
        FROM per_user p WHERE a."user_id" = p."user_id"
        RETURNING a."user_id", a."balance"
    ),
    ordered AS (
        SELECT c.*, row_number() OVER (PARTITION BY c."user_id" ORDER BY c."created_at", c."call_id") AS rn FROM claimed c
    ),
    ledger AS (
        INSERT INTO "credit_transactions" ("id", "user_id", "type", "amount", "balance_after", "model_call_id", "description")
        SELECT gen_random_uuid(), o."user_id", 'debit', -o."credits",
            a."balance" + COALESCE(sum(o."credits") OVER (PARTITION BY o."user_id" ORDER BY o.rn
                ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
            o."call_id", 'model call ' || o."model"
        FROM ordered o JOIN accounts a ON a."user_id" = o."user_id"
        ORDER BY o."user_id", o.rn
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM claimed)::INTEGER, (SELECT count(*) FROM ledger)::INTEGER, (SELECT count(*) FROM released)::INTEGER;
END;
$$;

-- Releases holds past their expiry (left by a process that died mid-call), lowering `held`.
-- Returns how many holds were released.
CREATE FUNCTION "tollgate_release_expired_holds"()
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    v_count INTEGER;
BEGIN
    PERFORM 1 FROM "credit_accounts" a
        WHERE a."user_id" IN (SELECT h."user_id" FROM "credit_holds" h WHERE h."expires_at" <= now())
        ORDER BY a."user_id" FOR UPDATE;
    WITH gone AS (
        DELETE FROM "credit_holds" h WHERE h."expires_at" <= now() RETURNING h."user_id", h."amount"
    ),
    per_user AS (SELECT g."user_id", sum(g."amount") AS total, count(*) AS n FROM gone g GROUP BY g."user_id"),
    upd AS (
        UPDATE "credit_accounts" a SET "held" = a."held" - p.total FROM per_user p WHERE a."user_id" = p."user_id" RETURNING 1
    )
    SELECT COALESCE(sum(p.n), 0)::INTEGER INTO v_count FROM per_user p;
    RETURN v_count;
END;
$$;
