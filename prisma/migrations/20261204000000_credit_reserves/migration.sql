-- Credit reserves (docs/call-recording.md "Reserves"): an api process sets credits aside for a
-- busy user in one statement, then admits that user's calls against them in memory,
-- without a hold on the account row per call (a stream still writes its start-of-call row, amount 0). A reserve is counted in credit_accounts.held like a hold, so
-- every other admission sees it taken; settlement moves each debited call's credits out of the
-- reserve it was admitted from (held and the reserve shrink by what the call cost, the balance by
-- the debit), so the books stay exact and no balance is overspent by what reserves admit.
--
-- credit_reserves: one row per api process and user; `amount` is what is still set aside (credits),
-- `expires_at` is renewed by the process while it uses it. A reserve not renewed (its process died)
-- is released by the worker (tollgate_release_credit_reserves with p_only_expired).
-- pending_debits.reserve_id: the reserve a recorded call was admitted from (NULL: it had a hold).

CREATE TABLE "credit_reserves" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "amount" DECIMAL(38,10) NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "credit_reserves_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "credit_reserves_expires_at_idx" ON "credit_reserves"("expires_at");

ALTER TABLE "pending_debits" ADD COLUMN "reserve_id" UUID;

-- Sets `p_amount` more credits aside in reserve `p_id` of user `p_user` (creating it), if the
-- user's free credits (balance − held) stay at least `p_keep` after it; renews it for
-- `p_ttl_seconds`. Returns whether it was granted, the reserve's amount after, and the account's
-- balance and held after (held includes the reserve).
CREATE FUNCTION "tollgate_take_credit_reserve"(p_id UUID, p_user UUID, p_amount DECIMAL, p_keep DECIMAL, p_ttl_seconds INTEGER)
RETURNS TABLE ("granted" BOOLEAN, "amount" DECIMAL, "balance" DECIMAL, "held" DECIMAL)
LANGUAGE plpgsql AS $$
DECLARE
    v_balance DECIMAL;
    v_held DECIMAL;
    v_amount DECIMAL;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT a."balance", a."held" INTO v_balance, v_held FROM "credit_accounts" a WHERE a."user_id" = p_user FOR UPDATE;
    IF v_balance IS NULL OR p_amount <= 0 OR v_balance - v_held - p_amount < p_keep THEN
        SELECT r."amount" INTO v_amount FROM "credit_reserves" r WHERE r."id" = p_id;
        RETURN QUERY SELECT false, COALESCE(v_amount, 0), COALESCE(v_balance, 0), COALESCE(v_held, 0);
        RETURN;
    END IF;
    INSERT INTO "credit_reserves" ("id", "user_id", "amount", "expires_at")
        VALUES (p_id, p_user, p_amount, now() + make_interval(secs => p_ttl_seconds))
        ON CONFLICT ("id") DO UPDATE SET "amount" = "credit_reserves"."amount" + EXCLUDED."amount", "expires_at" = EXCLUDED."expires_at"
        RETURNING "credit_reserves"."amount" INTO v_amount;
    UPDATE "credit_accounts" a SET "held" = a."held" + p_amount WHERE a."user_id" = p_user;
    RETURN QUERY SELECT true, v_amount, v_balance, v_held + p_amount;
END;
$$;

-- Gives reserves back: each one's remaining amount leaves its user's held and the row goes. With
-- p_only_expired, only those whose expiry has passed (re-checked under the account lock, so a
-- reserve renewed meanwhile stays). Account rows are locked in user order, as settlement does.
-- Returns the number released.
CREATE FUNCTION "tollgate_release_credit_reserves"(p_ids UUID[], p_only_expired BOOLEAN)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    v_count INTEGER;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM "credit_accounts" a
        WHERE a."user_id" IN (SELECT r."user_id" FROM "credit_reserves" r WHERE r."id" = ANY(p_ids))
        ORDER BY a."user_id" FOR UPDATE;
    WITH released AS (
        DELETE FROM "credit_reserves" r
        WHERE r."id" = ANY(p_ids) AND (NOT p_only_expired OR r."expires_at" <= now())
        RETURNING r."user_id", r."amount"
    ),
    per_user AS (
        SELECT x."user_id", sum(x."amount") AS "amount", count(*) AS n FROM released x GROUP BY x."user_id"
    ),
    accounts AS (
        -- runs whether or not it is read, as every data-modifying WITH does
        UPDATE "credit_accounts" a SET "held" = a."held" - p."amount" FROM per_user p WHERE a."user_id" = p."user_id"
    )
    SELECT COALESCE(sum(p.n), 0)::INTEGER INTO v_count FROM per_user p;
    RETURN v_count;
END;
$$;

-- Renews reserves for `p_ttl_seconds` and reports, per reserve still there, its amount and its
-- user's balance and held: the api stops admitting from a reserve whose user's balance no longer
-- covers what is held (credits taken away, by an expiry say).
CREATE FUNCTION "tollgate_renew_credit_reserves"(p_ids UUID[], p_ttl_seconds INTEGER)
RETURNS TABLE ("id" UUID, "amount" DECIMAL, "balance" DECIMAL, "held" DECIMAL)
LANGUAGE sql AS $$
    WITH renewed AS (
        UPDATE "credit_reserves" r SET "expires_at" = now() + make_interval(secs => p_ttl_seconds)
        WHERE r."id" = ANY(p_ids)
        RETURNING r."id", r."user_id", r."amount"
    )
    SELECT n."id", n."amount", a."balance", a."held" FROM renewed n JOIN "credit_accounts" a ON a."user_id" = n."user_id";
$$;

-- Settlement, as in 20261203200000_time_ordered_ledger_ids, plus reserves: a debit whose call was
-- admitted from a reserve takes its credits out of that reserve too (never more than the reserve
-- still has), and its user's held falls by the same; a debit whose reserve was released already
-- only lowers the balance.
CREATE OR REPLACE FUNCTION "tollgate_apply_debits"(p_call_ids UUID[])
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
        RETURNING d."call_id", d."user_id", d."credits", d."model", d."created_at", d."reserve_id"
    ),
    released AS (
        DELETE FROM "credit_holds" h WHERE h."call_id" = ANY(p_call_ids)
        RETURNING h."call_id", h."user_id", h."amount", h."api_key_id"
    ),
    reserve_use AS (
        SELECT r."id", r."user_id", least(u."credits", r."amount") AS "consumed"
        FROM (SELECT c."reserve_id", sum(c."credits") AS "credits" FROM claimed c WHERE c."reserve_id" IS NOT NULL GROUP BY c."reserve_id") u
        JOIN "credit_reserves" r ON r."id" = u."reserve_id"
    ),
    reserves AS (
        UPDATE "credit_reserves" r SET "amount" = r."amount" - u."consumed"
        FROM reserve_use u WHERE r."id" = u."id"
        RETURNING r."id"
    ),
    per_user AS (
        SELECT x."user_id", sum(x.debit) AS debit, sum(x.unhold) AS unhold FROM (
            SELECT c."user_id", c."credits" AS debit, 0::DECIMAL AS unhold FROM claimed c
            UNION ALL
            SELECT r."user_id", 0::DECIMAL, r."amount" FROM released r
            UNION ALL
            SELECT u."user_id", 0::DECIMAL, u."consumed" FROM reserve_use u
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
        SELECT "tollgate_uuid_v7"(), o."user_id", 'debit', -o."credits",
            a."balance" + COALESCE(sum(o."credits") OVER (PARTITION BY o."user_id" ORDER BY o.rn
                ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
            o."call_id", 'model call ' || o."model"
        FROM ordered o JOIN accounts a ON a."user_id" = o."user_id"
        ORDER BY o."user_id", o.rn
        RETURNING 1
    ),
    key_spend AS (
        UPDATE "api_keys" k SET "credits_spent" = k."credits_spent" + s."credits"
        FROM (
            SELECT x."api_key_id", sum(x."credits") AS "credits" FROM (
                SELECT c."credits",
                    COALESCE(r."api_key_id", (SELECT m."api_key_id" FROM "model_calls" m WHERE m."id" = c."call_id")) AS "api_key_id"
                FROM claimed c LEFT JOIN released r ON r."call_id" = c."call_id"
                WHERE c."credits" > 0
            ) x
            WHERE x."api_key_id" IS NOT NULL
            GROUP BY x."api_key_id"
        ) s
        WHERE k."id" = s."api_key_id" AND k."credit_budget" IS NOT NULL
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM claimed)::INTEGER, (SELECT count(*) FROM ledger)::INTEGER, (SELECT count(*) FROM released)::INTEGER;
END;
$$;
