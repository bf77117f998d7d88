"""The Lua scripts of ``RedisStore``: every "check, then act" on shared state is one script.

Redis runs a script atomically, so two instances can never interleave inside one: a wait that
registers and a signal that looks for waiters are ordered one way or the other, and a kept
signal is popped by exactly one wait. Time is Redis's own (``TIME``): every instance reads the
same clock. Keys, under the namespace's prefix ``P`` (``anchor-mfa:<namespace>:``):

``q:<chan>``  list: ids of the signals kept for a channel (a (user, event) pair), oldest first
``p`` / ``m`` hashes: id -> payload / id -> ``"<expires ms>|<chan>"``
``o``         sorted set: every kept id, scored by id (the global order, oldest first)
``ch``        set: the channels holding kept signals; ``bytes``: their payload bytes
``seq`` / ``dseq``  counters: kept ids / delivery ids
``w:<chan>``  hash: ``<instance>/<local id>`` -> instance, one field per registered wait
``inst``      sorted set: instance -> heartbeat expiry (ms); dead ones are ignored
``i:<inst>``  stream: what an instance's reader gets (``k=d``: a delivery, ``k=s``: a signal
              it made was settled, ``k=x``: wake up)
``d:<id>``    hash: a delivery not settled yet (who still has to report, how many took it)
``h``         list: history records (metadata only)
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

__all__ = ["Scripts", "channel", "split_channel"]

STREAM_MAXLEN = 10_000
STREAM_TTL_MS = 120_000
"""An instance's stream outlives it this long (its heartbeat renews it while it lives)."""

_LIBRARY = """
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function live(inst, now)
  local s = redis.call('ZSCORE', P .. 'inst', inst)
  return s ~= false and tonumber(s) > now
end
local function meta(id)
  local m = redis.call('HGET', P .. 'm', id)
  local bar = string.find(m, '|', 1, true)
  return tonumber(string.sub(m, 1, bar - 1)), string.sub(m, bar + 1)
end
local function pop_head(chan)
  local id = redis.call('LPOP', P .. 'q:' .. chan)
  if not id then return nil end
  local payload = redis.call('HGET', P .. 'p', id)
  redis.call('HDEL', P .. 'p', id)
  redis.call('HDEL', P .. 'm', id)
  redis.call('ZREM', P .. 'o', id)
  redis.call('DECRBY', P .. 'bytes', #payload)
  if redis.call('LLEN', P .. 'q:' .. chan) == 0 then redis.call('SREM', P .. 'ch', chan) end
  return payload
end
local function expire_chan(chan, now)
  while true do
    local head = redis.call('LINDEX', P .. 'q:' .. chan, 0)
    if not head or meta(head) > now then return end
    pop_head(chan)
  end
end
local function sweep(now)
  for _ = 1, 100 do
    local oldest = redis.call('ZRANGE', P .. 'o', 0, 0)[1]
    if not oldest then return end
    local expires, chan = meta(oldest)
    if expires > now then return end
    pop_head(chan)
  end
end
-- K: keep_ms, queue_limit, max_events, max_bytes at ARGV[K .. K+3]
local function keep(chan, payload, now, K, drops)
  expire_chan(chan, now)
  local id = redis.call('INCR', P .. 'seq')
  redis.call('RPUSH', P .. 'q:' .. chan, id)
  redis.call('HSET', P .. 'p', id, payload)
  redis.call('HSET', P .. 'm', id, string.format('%d|', now + tonumber(ARGV[K])) .. chan)
  redis.call('ZADD', P .. 'o', id, id)
  redis.call('SADD', P .. 'ch', chan)
  redis.call('INCRBY', P .. 'bytes', #payload)
  if redis.call('LLEN', P .. 'q:' .. chan) > tonumber(ARGV[K + 1]) then
    pop_head(chan)
    table.insert(drops, 'queue')
    table.insert(drops, chan)
  end
  while true do
    local over_bytes = tonumber(redis.call('GET', P .. 'bytes')) > tonumber(ARGV[K + 3])
    local over_events = redis.call('SCARD', P .. 'ch') > tonumber(ARGV[K + 2])
    if not (over_bytes or over_events) then return end
    local _, oldest_chan = meta(redis.call('ZRANGE', P .. 'o', 0, 0)[1])
    pop_head(oldest_chan)
    table.insert(drops, over_bytes and 'bytes' or 'events')
    table.insert(drops, oldest_chan)
  end
end
local function post(inst, ...)
  local key = P .. 'i:' .. inst
  redis.call('XADD', key, 'MAXLEN', '~', MAXLEN_, '*', ...)
  redis.call('PEXPIRE', key, STREAM_TTL_)
end
local function registered(chan, now)
  -- The live registrations of chan, by instance (local ids); all of chan's are consumed.
  local wkey = P .. 'w:' .. chan
  local regs = redis.call('HGETALL', wkey)
  local alive, groups, insts = {}, {}, {}
  for i = 1, #regs, 2 do
    local inst = regs[i + 1]
    if alive[inst] == nil then alive[inst] = live(inst, now) end
    if alive[inst] then
      if not groups[inst] then groups[inst] = {}; table.insert(insts, inst) end
      table.insert(groups[inst], string.sub(regs[i], #inst + 2))
    end
  end
  redis.call('DEL', wkey)
  return groups, insts
end
local function dispatch(rkey, groups, insts)
  local d, chan, payload = unpack(redis.call('HMGET', rkey, 'id', 'c', 'p'))
  redis.call('HSET', rkey, 'n', #insts)
  for _, inst in ipairs(insts) do
    redis.call('HSET', rkey, 'i:' .. inst, 1)
    post(inst, 'k', 'd', 'd', d, 'c', chan, 'p', payload, 'w', table.concat(groups[inst], ','))
  end
  redis.call('PEXPIRE', rkey, tonumber(redis.call('HGET', rkey, 'x')) or 60000)
end
local function settle(rkey, now, K, drops)
  local taken = tonumber(redis.call('HGET', rkey, 't'))
  if taken == 0 then
    local chan = redis.call('HGET', rkey, 'c')
    -- Waits registered since the delivery went out (on any live instance) get it now: a
    -- kept signal would only be taken by a wait that registers later.
    local groups, insts = registered(chan, now)
    if #insts > 0 then
      dispatch(rkey, groups, insts)
      return -2
    end
    keep(chan, redis.call('HGET', rkey, 'p'), now, K, drops)
  end
  post(redis.call('HGET', rkey, 's'), 'k', 's', 'd', redis.call('HGET', rkey, 'id'), 'n', taken)
  redis.call('DEL', rkey)
  return taken
end
local function report(rkey, inst, taken)
  if redis.call('HDEL', rkey, 'i:' .. inst) == 0 then return false end
  redis.call('HINCRBY', rkey, 't', taken)
  return redis.call('HINCRBY', rkey, 'n', -1) == 0
end
"""

# ARGV: P, chan, payload, signaler, record_ttl_ms, keep_ms, queue_limit, max_events, max_bytes
_SIGNAL = """
local now = now_ms()
sweep(now)
local chan, payload = ARGV[2], ARGV[3]
local groups, insts = registered(chan, now)
if #insts == 0 then
  local drops = {}
  keep(chan, payload, now, 6, drops)
  return {0, drops}
end
local d = redis.call('INCR', P .. 'dseq')
local rkey = P .. 'd:' .. d
redis.call('HSET', rkey, 'id', d, 'c', chan, 'p', payload, 's', ARGV[4], 't', 0, 'x', ARGV[5])
dispatch(rkey, groups, insts)
return {1, d}
"""

# ARGV: P, chan, field ('' to take only), instance, heartbeat_ms
_WAIT = """
local now = now_ms()
sweep(now)
expire_chan(ARGV[2], now)
local payload = pop_head(ARGV[2])
if payload then return {1, payload} end
if ARGV[3] ~= '' then
  redis.call('HSET', P .. 'w:' .. ARGV[2], ARGV[3], ARGV[4])
  redis.call('ZADD', P .. 'inst', 'GT', now + tonumber(ARGV[5]), ARGV[4])
end
return {0}
"""

# ARGV: P, delivery id, instance, taken, keep_ms, queue_limit, max_events, max_bytes
_REPORT = """
local rkey = P .. 'd:' .. ARGV[2]
local drops = {}
if redis.call('EXISTS', rkey) == 0 then return {-1, drops} end
if not report(rkey, ARGV[3], tonumber(ARGV[4])) then return {-2, drops} end
return {settle(rkey, now_ms(), 5, drops), drops}
"""

# ARGV: P, delivery id, keep_ms, queue_limit, max_events, max_bytes
_SETTLE_DEAD = """
local rkey = P .. 'd:' .. ARGV[2]
local drops = {}
if redis.call('EXISTS', rkey) == 0 then return {-1, drops} end
local now = now_ms()
local fields = redis.call('HKEYS', rkey)
for _, field in ipairs(fields) do
  if string.sub(field, 1, 2) == 'i:' then
    local inst = string.sub(field, 3)
    if not live(inst, now) and report(rkey, inst, 0) then
      return {settle(rkey, now, 3, drops), drops}
    end
  end
end
return {-2, drops}
"""

# ARGV: P, instance, heartbeat_ms ('0': leave)
_HEARTBEAT = """
local now = now_ms()
sweep(now)
redis.call('ZREMRANGEBYSCORE', P .. 'inst', '-inf', now - 600000)
if ARGV[3] == '0' then
  redis.call('ZREM', P .. 'inst', ARGV[2])
  redis.call('DEL', P .. 'i:' .. ARGV[2])
  return 0
end
redis.call('ZADD', P .. 'inst', now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', P .. 'i:' .. ARGV[2], STREAM_TTL_)
return 1
"""

# ARGV: P, chan
_PENDING = """
local now = now_ms()
local regs = redis.call('HGETALL', P .. 'w:' .. ARGV[2])
local alive, count = {}, 0
for i = 2, #regs, 2 do
  if alive[regs[i]] == nil then alive[regs[i]] = live(regs[i], now) end
  if alive[regs[i]] then count = count + 1 end
end
return count
"""

# ARGV: P, chan
_PEEK = """
local now = now_ms()
expire_chan(ARGV[2], now)
local ids = redis.call('LRANGE', P .. 'q:' .. ARGV[2], 0, -1)
if #ids == 0 then return {} end
return redis.call('HMGET', P .. 'p', unpack(ids))
"""


def channel(user: str, event: str) -> str:
    """The key part naming a (user, event) pair: unambiguous whatever either contains."""
    return f"{len(user)}:{user}{event}"


def split_channel(chan: str) -> tuple[str, str]:
    length, _, rest = chan.partition(":")
    size = int(length)
    return rest[:size], rest[size:]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def drops_of(raw: list[Any]) -> list[tuple[str, str]]:
    """``[why, chan, why, chan...]`` from a script as (why, event) pairs."""
    items = [_text(item) for item in raw]
    return [
        (why, split_channel(chan)[1]) for why, chan in zip(items[::2], items[1::2], strict=True)
    ]


class Scripts:
    """The scripts registered on one client; each call takes the namespace's prefix first."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.prefix = prefix

        def script(body: str) -> Any:
            source = _LIBRARY + body
            source = source.replace("MAXLEN_", str(STREAM_MAXLEN))
            return client.register_script(source.replace("STREAM_TTL_", str(STREAM_TTL_MS)))

        self._signal = script(_SIGNAL)
        self._wait = script(_WAIT)
        self._report = script(_REPORT)
        self._settle_dead = script(_SETTLE_DEAD)
        self._heartbeat = script(_HEARTBEAT)
        self._pending = script(_PENDING)
        self._peek = script(_PEEK)

    async def _run(self, script: Any, *args: str | int | bytes) -> Any:
        return await script(keys=[], args=[self.prefix, *args])

    async def signal(self, chan: str, payload: bytes, signaler: str, *more: int) -> Any:
        return await self._run(self._signal, chan, payload, signaler, *more)

    async def wait(self, chan: str, field: str, instance: str, heartbeat_ms: int) -> Any:
        return await self._run(self._wait, chan, field, instance, heartbeat_ms)

    async def report(self, delivery: int, instance: str, taken: int, *bounds: int) -> Any:
        return await self._run(self._report, delivery, instance, taken, *bounds)

    async def settle_dead(self, delivery: int, *bounds: int) -> Any:
        return await self._run(self._settle_dead, delivery, *bounds)

    async def heartbeat(self, instance: str, heartbeat_ms: int) -> Any:
        return await self._run(self._heartbeat, instance, heartbeat_ms)

    async def pending(self, chan: str) -> int:
        return int(await self._run(self._pending, chan))

    async def peek(self, chan: str) -> list[bytes]:
        return [bytes(p) for p in await self._run(self._peek, chan) if p is not None]
