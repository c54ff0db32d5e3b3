-- Exactly-once append of one part of a batch: for each entry, in order, one step that either
-- finds the message already appended (by one of its lookup keys) or appends it and records every
-- key. The script runs atomically, so no other client sees half an entry.
--
-- A batch is sent as several parts pipelined on one connection (so Redis appends part 1 while
-- the next part is still arriving). A part runs only if the part before it ran to the end: the
-- gate key holds the index of the next part allowed to run. So when a part fails (a script
-- error, OOM), the parts after it refuse instead of appending entries ahead of the failed ones,
-- and the stream keeps the receive order.
--
-- KEYS[1]      the case stream
-- KEYS[2]      the dead-letter stream
-- KEYS[3]      the batch's gate key (unique per send; unused when the batch is one part)
-- KEYS[4..]    every entry's idempotency keys in entry order (primary first), already prefixed
-- ARGV[1]      TTL of the idempotency keys, in seconds
-- ARGV[2]      this part's index, from 0
-- ARGV[3]      number of parts
-- ARGV[4]      number of entries in this part
-- then per entry, 10 values:
--   target (1 = cases, 2 = dead letters), number of keys, number of keys looked up (the rest
--   are only recorded), v, event, channel, idempotency_key, case_id, document field, document
--
-- Returns a flat array: per entry 1 (appended now) or 0 (appended before), then the entry id.
local part = tonumber(ARGV[2])
local parts = tonumber(ARGV[3])
if part > 0 and redis.call('GET', KEYS[3]) ~= ARGV[2] then
  return redis.error_reply('GATE part ' .. part .. ' not run: an earlier part of the batch failed')
end
local ttl = ARGV[1]
local count = tonumber(ARGV[4])
local result = {}
local key_at = 4
local arg_at = 5
for n = 1, count do
  local stream = KEYS[tonumber(ARGV[arg_at])]
  local nkeys = tonumber(ARGV[arg_at + 1])
  local lookups = math.min(nkeys, tonumber(ARGV[arg_at + 2]))
  local key_end = key_at + nkeys - 1
  local id = false
  -- The key that found an earlier entry already holds its id: no need to record it again.
  local found_at = nil
  for i = key_at, key_at + lookups - 1 do
    id = redis.call('GET', KEYS[i])
    if id then
      found_at = i
      break
    end
  end
  if found_at then
    result[2 * n - 1] = 0
  else
    id = redis.call('XADD', stream, '*',
      'v', ARGV[arg_at + 3], 'event', ARGV[arg_at + 4], 'channel', ARGV[arg_at + 5],
      'idempotency_key', ARGV[arg_at + 6], 'case_id', ARGV[arg_at + 7],
      ARGV[arg_at + 8], ARGV[arg_at + 9])
    result[2 * n - 1] = 1
  end
  result[2 * n] = id
  -- Record every key (SET NX keeps an earlier id): after a UIDVALIDITY rescan the new UID key
  -- then finds the entry by itself.
  for i = key_at, key_end do
    if i ~= found_at then
      redis.call('SET', KEYS[i], id, 'NX', 'EX', ttl)
    end
  end
  key_at = key_end + 1
  arg_at = arg_at + 10
end
-- Open the gate for the next part; the last part removes it. The TTL only bounds what a batch
-- that failed midway leaves behind.
if part + 1 < parts then
  redis.call('SET', KEYS[3], part + 1, 'EX', 60)
elseif part > 0 then
  redis.call('DEL', KEYS[3])
end
return result
