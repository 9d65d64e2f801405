import { createHash } from 'node:crypto';

/**
 * applyHit (rate-limit-window.ts) as one atomic Lua script, so every instance spends one budget.
 * KEYS[1]: hash {count, reset, blocked, seq} of one subject on one endpoint; KEYS[2]: sorted set of its
 * violation times. Both share the subject's hash tag, so Redis Cluster keeps them in one slot.
 * ARGV: now, window, limit, base penalty, penalty cap, violation memory (all milliseconds).
 * Time is an argument, not Redis TIME, so the service's Clock decides (and tests can move it).
 * Returns {count, reset, blocked, violation k or 0}.
 */
export const RATE_LIMIT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local penalty = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local memory = tonumber(ARGV[6])
local state = redis.call('HMGET', KEYS[1], 'count', 'reset', 'blocked')
local count = tonumber(state[1]) or 0
local reset = tonumber(state[2]) or 0
local blocked = tonumber(state[3]) or 0
if blocked > now then
  return {count, reset, blocked, 0}
end
if reset <= now then
  count = 0
  reset = now + window
end
count = count + 1
local violations = 0
if count > limit then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - memory)
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('ZADD', KEYS[2], now, now .. ':' .. seq)
  redis.call('PEXPIRE', KEYS[2], memory)
  violations = redis.call('ZCARD', KEYS[2])
  blocked = math.max(now + math.min(penalty * 2 ^ (violations - 1), cap), reset)
end
redis.call('HSET', KEYS[1], 'count', count, 'reset', reset, 'blocked', blocked)
redis.call('PEXPIRE', KEYS[1], math.max(reset, blocked) - now)
return {count, reset, blocked, violations}
`;

export const RATE_LIMIT_SCRIPT_SHA = createHash('sha1').update(RATE_LIMIT_SCRIPT).digest('hex');

/**
 * Gives one request back to a budget (a login whose password was right is no failure): KEYS[1] as above, ARGV[1] now.
 * Only within the current window and never below zero; a block already imposed stays.
 */
export const RATE_LIMIT_REFUND_SCRIPT = `
local state = redis.call('HMGET', KEYS[1], 'count', 'reset')
local count = tonumber(state[1]) or 0
local reset = tonumber(state[2]) or 0
if count > 0 and reset > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'count', count - 1)
end
return 0
`;
