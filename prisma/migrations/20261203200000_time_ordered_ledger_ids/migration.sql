-- Time-ordered ids for the ledger's debit rows. Model call ids are UUID version 7 (made by the api,
-- src/model-calls/call-id.ts), so the indexes keyed by call id grow at their right edge; the debit
-- transactions that settlement writes, one per billable call, took random ids (gen_random_uuid), so
-- every insert into credit_transactions' primary key landed on a random page: once the index outgrows
-- memory that costs page reads, and after each checkpoint a full-page image in the WAL per page
-- touched (bench/README.md "Time-ordered ids").
--
-- tollgate_uuid_v7(): a UUID of version 7 (RFC 9562): the first 48 bits are the Unix time in
-- milliseconds (clock_timestamp()), then the version and variant bits over random bits taken from
-- gen_random_uuid(). tollgate_apply_debits is replaced with the same signature and body as in
-- 20261202010000_key_budgets, except that debit rows get tollgate_uuid_v7() ids.

CREATE FUNCTION "tollgate_uuid_v7"() RETURNS UUID
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) FROM 3)
                FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::UUID;
$$;

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
        RETURNING d."call_id", d."user_id", d."credits", d."model", d."created_at"
    ),
    released AS (
        DELETE FROM "credit_holds" h WHERE h."call_id" = ANY(p_call_ids)
        RETURNING h."call_id", h."user_id", h."amount", h."api_key_id"
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

