-- Batched credit holds: the holds of calls admitted at the same moment (any users) in one
-- statement and one transaction, instead of one transaction per call that each wait for the
-- previous one's lock on the same account row. Same rules as tollgate_credit_hold, applied in
-- the order given for each user: a call is admitted when its amount fits in balance − held −
-- what the earlier calls of the batch took. Account rows are locked in user_id order, as
-- tollgate_apply_debits does, so concurrent batches and debits cannot deadlock.
--
-- Arguments are parallel arrays, one element per call (p_ttl_seconds is shared). Returns one row
-- per call, `ord` being its 1-based position: admitted, the balance when it was tried and the
-- credits held by other calls then (0 and 0 when p_enforce is false, as the single hold answers).
CREATE FUNCTION "tollgate_credit_hold_batch"(
    p_users UUID[], p_calls UUID[], p_amounts DECIMAL[], p_ttl_seconds INTEGER, p_enforce BOOLEAN[],
    p_api_keys UUID[], p_providers UUID[], p_models TEXT[], p_types "ModelType"[], p_streams BOOLEAN[],
    p_request_ids TEXT[], p_app_dids TEXT[], p_prompt_tokens INTEGER[], p_input_rates DECIMAL[], p_created_at TIMESTAMPTZ[])
RETURNS TABLE ("ord" INTEGER, "admitted" BOOLEAN, "balance" DECIMAL, "held" DECIMAL)
LANGUAGE plpgsql AS $$
DECLARE
    n INTEGER := COALESCE(array_length(p_users, 1), 0);
    v_admitted BOOLEAN[] := array_fill(false, ARRAY[n]);
    v_balances DECIMAL[] := array_fill(0::DECIMAL, ARRAY[n]);
    v_helds DECIMAL[] := array_fill(0::DECIMAL, ARRAY[n]);
    v_user UUID := NULL;
    v_locked BOOLEAN := false;
    v_balance DECIMAL;
    v_held DECIMAL;
    v_added DECIMAL := 0;
    i INTEGER;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR i IN SELECT t.o::INTEGER FROM unnest(p_users) WITH ORDINALITY AS t(u, o) ORDER BY t.u, t.o LOOP
        IF v_user IS DISTINCT FROM p_users[i] THEN
            IF v_locked AND v_added > 0 THEN
                UPDATE "credit_accounts" a SET "held" = a."held" + v_added WHERE a."user_id" = v_user;
            END IF;
            v_user := p_users[i];
            v_locked := false;
            v_added := 0;
        END IF;
        IF NOT p_enforce[i] THEN
            v_admitted[i] := true;
            CONTINUE;
        END IF;
        IF NOT v_locked THEN
            SELECT a."balance", a."held" INTO v_balance, v_held FROM "credit_accounts" a WHERE a."user_id" = v_user FOR UPDATE;
            v_locked := true;
        END IF;
        v_balances[i] := COALESCE(v_balance, 0);
        v_helds[i] := COALESCE(v_held, 0) + v_added;
        IF v_balance IS NOT NULL AND v_balance - v_held - v_added >= p_amounts[i] AND v_balance - v_held - v_added > 0 THEN
            v_admitted[i] := true;
            v_added := v_added + p_amounts[i];
        END IF;
    END LOOP;
    IF v_locked AND v_added > 0 THEN
        UPDATE "credit_accounts" a SET "held" = a."held" + v_added WHERE a."user_id" = v_user;
    END IF;
    INSERT INTO "credit_holds" ("call_id", "user_id", "amount", "expires_at", "api_key_id", "provider_id", "model",
        "type", "stream", "request_id", "app_did", "prompt_tokens", "input_rate", "created_at")
    SELECT p_calls[k], p_users[k], CASE WHEN p_enforce[k] THEN p_amounts[k] ELSE 0 END, now() + make_interval(secs => p_ttl_seconds),
        p_api_keys[k], p_providers[k], p_models[k], p_types[k], p_streams[k], p_request_ids[k], p_app_dids[k],
        p_prompt_tokens[k], p_input_rates[k], p_created_at[k]
    FROM generate_series(1, n) AS k WHERE v_admitted[k];
    RETURN QUERY SELECT k, v_admitted[k], v_balances[k], v_helds[k] FROM generate_series(1, n) AS k;
END;
$$;
