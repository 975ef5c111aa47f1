/**
 * The limiter's one Redis script (docs/rate-limits.md "Algorithm"): a sliding-window counter
 * approximated from two fixed windows, for several rules in one round trip.
 *
 * Each rule is one Redis hash (KEYS[i]) with the fields `w` (index of the current fixed window),
 * `c` (amount counted in it) and `p` (amount counted in the window before). The amount used in the
 * sliding window ending now is `p * (window - elapsed) / window + c`, where `elapsed` is the time
 * since the current fixed window began. Time is Redis's own clock (TIME), so every api replica
 * sees the same windows whatever its own clock says.
 *
 * ARGV[1] is the mode; then three values per rule: window (ms), limit, cost.
 * - `check`: the call is admitted when every rule admits it: a rule with cost > 0 (requests)
 *   when used + cost <= limit, a rule with cost 0 (tokens, counted later) when used < limit.
 *   Only an admitted call is counted (cost added to `c` of every rule); a refused one changes
 *   nothing.
 * - `add`: the cost is added to every rule unconditionally (tokens of a finished call).
 *
 * Reply: `[admitted (0|1), now (Unix ms), then per rule: admits (0|1), limit, remaining,
 * resetMs, retryMs]`. `remaining` = floor(limit - used) after this call; `resetMs` = time until
 * the rule's usage is back to 0 (nothing more counted); `retryMs` = for a rule that refuses, time
 * until it would admit the same call (0 otherwise).
 */
export const SLIDING_WINDOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local rules = {}
local admitted = 1
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 3
  local win = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local cost = tonumber(ARGV[base + 3])
  local idx = math.floor(now / win)
  local h = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local w = tonumber(h[1])
  local c = tonumber(h[2]) or 0
  local p = tonumber(h[3]) or 0
  if w == nil then
    c = 0
    p = 0
  elseif w == idx - 1 then
    p = c
    c = 0
  elseif w < idx - 1 then
    p = 0
    c = 0
  end
  local elapsed = now - idx * win
  local used = p * (win - elapsed) / win + c
  local admits = 1
  if mode == 'check' then
    if (cost > 0 and used + cost > limit) or (cost == 0 and used >= limit) then
      admits = 0
      admitted = 0
    end
  end
  rules[i] = { win = win, limit = limit, cost = cost, idx = idx, c = c, p = p, elapsed = elapsed, used = used, admits = admits }
end
local out = { admitted, now }
for i = 1, #KEYS do
  local r = rules[i]
  local add = 0
  if mode == 'add' or admitted == 1 then add = r.cost end
  if add > 0 then
    redis.call('HSET', KEYS[i], 'w', r.idx, 'c', r.c + add, 'p', r.p)
    redis.call('PEXPIRE', KEYS[i], 2 * r.win + 1000)
  end
  local remaining = math.floor(r.limit - r.used - add)
  if remaining < 0 then remaining = 0 end
  local reset = 0
  if r.c + add > 0 then
    reset = (r.win - r.elapsed) + r.win
  elseif r.p > 0 then
    reset = r.win - r.elapsed
  end
  local retry = 0
  if r.admits == 0 then
    local need = r.limit - math.max(r.cost, 1)
    if r.c <= need and r.p > 0 then
      retry = (r.win - r.elapsed) - (need - r.c) * r.win / r.p
    elseif r.c > 0 then
      retry = (r.win - r.elapsed) + math.max(0, r.win * (1 - need / r.c))
    else
      retry = r.win - r.elapsed
    end
  end
  out[#out + 1] = r.admits
  out[#out + 1] = r.limit
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(reset)
  out[#out + 1] = math.ceil(retry)
end
return out
`;
