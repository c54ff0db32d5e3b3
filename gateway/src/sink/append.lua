-- Exactly-once append of a batch: for each entry, in order, one step that either finds the
-- message already appended (by one of its lookup keys) or appends it and records every key.
-- The script runs atomically, so no other client sees half an entry.
--
-- KEYS[1]      the case stream
-- KEYS[2]      the dead-letter stream
-- KEYS[3..]    every entry's idempotency keys in entry order (primary first), already prefixed
-- ARGV[1]      TTL of the idempotency keys, in seconds
-- ARGV[2]      number of entries
-- then per entry, 10 values:
--   target (1 = cases, 2 = dead letters), number of keys, number of keys looked up (the rest
--   are only recorded), v, event, channel, idempotency_key, case_id, document field, document
--
-- Returns a flat array: per entry 1 (appended now) or 0 (appended before), then the entry id.
local ttl = ARGV[1]
local count = tonumber(ARGV[2])
local result = {}
local key_at = 3
local arg_at = 3
for _ = 1, count do
  local stream = KEYS[tonumber(ARGV[arg_at])]
  local nkeys = tonumber(ARGV[arg_at + 1])
  local lookups = math.min(nkeys, tonumber(ARGV[arg_at + 2]))
  local existing = false
  for i = key_at, key_at + lookups - 1 do
    existing = redis.call('GET', KEYS[i])
    if existing then break end
  end
  local id = existing
  if not existing then
    id = redis.call('XADD', stream, '*',
      'v', ARGV[arg_at + 3], 'event', ARGV[arg_at + 4], 'channel', ARGV[arg_at + 5],
      'idempotency_key', ARGV[arg_at + 6], 'case_id', ARGV[arg_at + 7],
      ARGV[arg_at + 8], ARGV[arg_at + 9])
  end
  -- Record every key (SET NX keeps an earlier id): after a UIDVALIDITY rescan the new UID key
  -- then finds the entry by itself.
  for i = key_at, key_at + nkeys - 1 do
    redis.call('SET', KEYS[i], id, 'NX', 'EX', ttl)
  end
  result[#result + 1] = existing and 0 or 1
  result[#result + 1] = id
  key_at = key_at + nkeys
  arg_at = arg_at + 10
end
return result
