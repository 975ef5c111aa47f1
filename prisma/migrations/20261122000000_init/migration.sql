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
    "debit_pending" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "model_calls_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "credit_accounts" (
    "user_id" UUID NOT NULL,
    "balance" DECIMAL(38,10) NOT NULL DEFAULT 0,
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
CREATE INDEX "model_calls_debit_pending_created_at_idx" ON "model_calls"("debit_pending", "created_at");
CREATE UNIQUE INDEX "credit_grants_idempotency_key_key" ON "credit_grants"("idempotency_key");
CREATE INDEX "credit_grants_user_id_created_at_idx" ON "credit_grants"("user_id", "created_at" DESC);
CREATE UNIQUE INDEX "credit_transactions_seq_key" ON "credit_transactions"("seq");
CREATE UNIQUE INDEX "credit_transactions_model_call_id_key" ON "credit_transactions"("model_call_id");
CREATE INDEX "credit_transactions_user_id_created_at_idx" ON "credit_transactions"("user_id", "created_at" DESC);
CREATE INDEX "credit_transactions_grant_id_idx" ON "credit_transactions"("grant_id");
CREATE INDEX "credit_holds_user_id_expires_at_idx" ON "credit_holds"("user_id", "expires_at");

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

-- Credit holds (credits module). Admits a call when the user's balance minus live holds is
-- positive, and records a hold of p_amount for it. One round trip on the hot path.
-- Admissions of one user are serialised by a transaction-level advisory lock on the user (not
-- the account row, so they never wait for a debit that holds the row). Balance and holds are
-- read in one statement, i.e. one snapshot: a debit deletes its call's hold in the same
-- transaction that lowers the balance, so every snapshot shows a consistent pair. A lock is
-- released only after its transaction is visible, so the next admission sees this hold.
-- Returns admitted, the balance, and the credits held before this call. Call it as its own
-- statement in autocommit: it switches synchronous_commit off for its transaction (a hold is a
-- reservation, not money; one lost in a server crash is simply gone).
CREATE FUNCTION "tollgate_credit_hold"(p_user UUID, p_call UUID, p_amount DECIMAL, p_ttl_seconds INTEGER)
RETURNS TABLE ("admitted" BOOLEAN, "balance" DECIMAL, "held" DECIMAL)
LANGUAGE plpgsql AS $$
DECLARE
    v_balance DECIMAL;
    v_held DECIMAL;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(hashtextextended(p_user::TEXT, 7369));
    SELECT a."balance",
           (SELECT COALESCE(SUM(h."amount"), 0) FROM "credit_holds" h
             WHERE h."user_id" = p_user AND h."expires_at" > now())
      INTO v_balance, v_held
      FROM "credit_accounts" a WHERE a."user_id" = p_user;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, 0::DECIMAL, 0::DECIMAL;
        RETURN;
    END IF;
    IF v_balance - v_held > 0 THEN
        INSERT INTO "credit_holds" ("call_id", "user_id", "amount", "expires_at")
        VALUES (p_call, p_user, p_amount, now() + make_interval(secs => p_ttl_seconds));
        RETURN QUERY SELECT true, v_balance, v_held;
    ELSE
        RETURN QUERY SELECT false, v_balance, v_held;
    END IF;
END;
$$;

-- Debits (credits module). Writes the debit of every listed call that is still debit_pending:
-- claims the calls (so each is debited exactly once, whoever runs this concurrently), takes the
-- accounts' row locks in user order (no deadlocks between appliers), lowers the balances, writes
-- one debit transaction per call with its balance_after, and releases the calls' holds.
-- The call rows were committed durably before; this derived write may commit asynchronously
-- (a crash loses nothing: the calls stay debit_pending and the sweep applies them again).
CREATE FUNCTION "tollgate_apply_debits"(p_call_ids UUID[])
RETURNS TABLE ("claimed" INTEGER, "debited" INTEGER)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM "credit_accounts" a
        WHERE a."user_id" IN (SELECT DISTINCT c."user_id" FROM "model_calls" c WHERE c."id" = ANY(p_call_ids) AND c."debit_pending")
        ORDER BY a."user_id" FOR UPDATE;
    RETURN QUERY
    WITH claimed AS (
        UPDATE "model_calls" c SET "debit_pending" = false
        WHERE c."id" = ANY(p_call_ids) AND c."debit_pending"
        RETURNING c."id", c."user_id", c."credits", c."model", c."created_at"
    ),
    accounts AS (
        UPDATE "credit_accounts" a SET "balance" = a."balance" - s.total, "updated_at" = now()
        FROM (SELECT cl."user_id", sum(cl."credits") AS total FROM claimed cl GROUP BY cl."user_id") s
        WHERE a."user_id" = s."user_id"
        RETURNING a."user_id", a."balance"
    ),
    ordered AS (
        SELECT cl.*, row_number() OVER (PARTITION BY cl."user_id" ORDER BY cl."created_at", cl."id") AS rn FROM claimed cl
    ),
    ledger AS (
        INSERT INTO "credit_transactions" ("id", "user_id", "type", "amount", "balance_after", "model_call_id", "description")
        SELECT gen_random_uuid(), o."user_id", 'debit', -o."credits",
            a."balance" + COALESCE(sum(o."credits") OVER (PARTITION BY o."user_id" ORDER BY o.rn
                ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
            o."id", 'model call ' || o."model"
        FROM ordered o JOIN accounts a ON a."user_id" = o."user_id"
        ORDER BY o."user_id", o.rn
        RETURNING 1
    ),
    released AS (
        DELETE FROM "credit_holds" h WHERE h."call_id" IN (SELECT cl."id" FROM claimed cl) RETURNING 1
    )
    SELECT (SELECT count(*) FROM claimed)::INTEGER, (SELECT count(*) FROM ledger)::INTEGER;
END;
$$;
