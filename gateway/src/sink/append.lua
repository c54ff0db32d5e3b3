-- Exactly-once append: one atomic step that either finds the message already appended (by any of
-- its idempotency keys) or appends it and records every key.
--
-- KEYS[1]      the stream to append to (cases or dead letters)
-- KEYS[2..n]   the message's idempotency keys (primary first, then fallbacks), already prefixed
-- ARGV[1]      TTL of the idempotency keys, in seconds
-- ARGV[2]      how many keys, from KEYS[2], are looked up; the rest are only recorded
-- ARGV[3..]    the entry's field/value pairs
--
-- Returns {1, id} for a new entry, {0, id} for a repeat (id of the entry appended before).
local ttl = ARGV[1]
local lookups = tonumber(ARGV[2])
for i = 2, math.min(#KEYS, 1 + lookups) do
  local existing = redis.call('GET', KEYS[i])
  if existing then
    -- Record the other keys too (e.g. the new UID key after a UIDVALIDITY reset), so the next
    -- repeat is found by its primary key.
    for j = 2, #KEYS do
      redis.call('SET', KEYS[j], existing, 'NX', 'EX', ttl)
    end
    return {0, existing}
  end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], id, 'NX', 'EX', ttl)
end
return {1, id}
