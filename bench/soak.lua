-- wrk script of the soak test (bench/soak.py runs it; read that first).
--
-- Mixed traffic: SOAK_WRITE_SHARE of the requests are writes, the rest reads of every kind
-- a client makes. Writes walk each new package through its life, one step per write:
-- created, edited, added to a grid, taken out, deleted; and in between, a grid cell, an
-- edit of a seeded package (a row the refresher writes too) and an on-demand refresh.
-- A step starts only once the step before it was answered 2xx: every request carries an
-- X-Request-ID, the server echoes it, and response() finds what it was for. That also
-- times each kind of request (wrk's own figures are for all of them together).
-- done() writes everything as JSON to SOAK_OUT.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } soak_timeval;
  int gettimeofday(soak_timeval *tv, void *tz);
]]
local clock = ffi.new("soak_timeval")

local function now_ms()
  ffi.C.gettimeofday(clock, nil)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_usec) / 1000
end

local token = os.getenv("SOAK_TOKEN")
local packages = tonumber(os.getenv("SOAK_PACKAGES"))
local write_share = tonumber(os.getenv("SOAK_WRITE_SHARE"))
local tag = os.getenv("SOAK_TAG") -- unique per wrk run: slugs and titles never collide
local out_path = os.getenv("SOAK_OUT")
local categories = tonumber(os.getenv("SOAK_CATEGORIES"))
local grids = tonumber(os.getenv("SOAK_GRIDS"))
local grid_members = tonumber(os.getenv("SOAK_GRID_MEMBERS"))
local grid_features = tonumber(os.getenv("SOAK_GRID_FEATURES"))

local orderings = { "-repo_watchers", "title", "-score", "last_updated", "-id", "repo_forks,-id" }
local queries = {
  "auth", "rest", "admin", "shop", "djang", "packge", "restframwork", "toolkit", "cache tasks",
  "package 42", "grid", "blog", "api", "forms search",
}
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

-- A FIFO of the new packages waiting for their next step.
local function queue()
  return { first = 1, last = 0 }
end

local function push(q, item)
  q.last = q.last + 1
  q[q.last] = item
end

local function pop(q)
  if q.first > q.last then
    return nil
  end
  local item = q[q.first]
  q[q.first] = nil
  q.first = q.first + 1
  return item
end

function init(_args)
  math.randomseed(thread_id * 7919 + os.time())
  sequence = 0
  writes = 0
  statuses = {} -- "op status" -> count
  -- "op bucket" -> count, and op -> the longest: flat tables, because wrk's thread:get
  -- cannot copy nested ones ("invalid key to 'next'").
  latencies = {}
  longest = {}
  pending = {} -- request id -> { op, start, item }
  created, edited, in_grid, doomed = queue(), queue(), queue(), queue()
end

local function pick(n)
  return math.random(1, n)
end

local function read()
  local r = math.random(100)
  local id = pick(packages)
  if r <= 14 then
    return "list", "/api/v4/packages/?limit=20&offset=" .. math.random(0, packages)
  elseif r <= 28 then
    local filters = {
      "category=category-" .. pick(categories),
      "repo_host=github",
      "grid=grid-" .. pick(grids),
      "category=category-" .. pick(categories) .. "&repo_host=github",
    }
    return "list_filtered", "/api/v4/packages/?" .. filters[pick(#filters)] .. "&ordering="
      .. orderings[pick(#orderings)] .. "&limit=20&offset=" .. math.random(0, 200)
  elseif r <= 42 then
    return "detail_id", "/api/v4/packages/" .. id .. "/"
  elseif r <= 56 then
    return "detail_slug", "/api/v4/packages/package-" .. id .. "/"
  elseif r <= 60 then
    if r % 2 == 0 then
      return "categories", "/api/v4/categories/"
    end
    return "categories", "/api/v4/categories/category-" .. pick(categories) .. "/"
  elseif r <= 66 then
    if r % 2 == 0 then
      return "grids", "/api/v4/grids/?limit=10&offset=" .. math.random(0, grids)
    end
    return "grids", "/api/v4/grids/grid-" .. pick(grids) .. "/"
  elseif r <= 72 then
    return "grid_packages", "/api/v4/grids/grid-" .. pick(grids) .. "/packages/"
  elseif r <= 80 then
    return "grid_table", "/api/v4/grids/grid-" .. pick(grids) .. "/table/"
  elseif r <= 98 then
    local q = queries[pick(#queries)]:gsub(" ", "+")
    if r % 3 == 0 then
      return "search", "/api/v4/search/?q=" .. q .. "&limit=10&offset=" .. math.random(0, 20)
    end
    return "search", "/api/v4/search/?q=" .. q
  end
  return "root", "/api/v4/"
end

-- The write steps, in turn; a step with nothing waiting for it creates a package instead.
local steps = { "create", "edit", "cell", "grid_add", "edit_seeded", "grid_remove", "delete", "refresh_now" }

local function write()
  writes = writes + 1
  local step = steps[(writes - 1) % #steps + 1]
  local item
  if step == "edit" then
    item = pop(created)
  elseif step == "grid_add" then
    item = pop(edited)
  elseif step == "grid_remove" then
    item = pop(in_grid)
  elseif step == "delete" then
    item = pop(doomed)
  end
  if (step == "edit" or step == "grid_add" or step == "grid_remove" or step == "delete") and not item then
    step = "create"
  end
  if step == "create" then
    local slug = "soak-" .. tag .. "-" .. thread_id .. "-" .. writes
    local body = '{"title": "Soak ' .. tag .. " " .. thread_id .. " " .. writes .. '", "slug": "' .. slug
      .. '", "category": "category-' .. pick(categories) .. '", "repo_url": "https://github.com/soak/'
      .. slug .. '"}'
    return "create", "POST", "/api/v4/packages/", body, { slug = slug }
  elseif step == "edit" then
    local body = '{"documentation_url": "https://docs.example.org/' .. item.slug .. '/", "title": "Soak edited '
      .. item.slug .. '"}'
    return "edit", "PATCH", "/api/v4/packages/" .. item.slug .. "/", body, item
  elseif step == "grid_add" then
    item.grid = "grid-" .. pick(grids)
    return "grid_add", "POST", "/api/v4/grids/" .. item.grid .. "/packages/", '{"package": "' .. item.slug .. '"}', item
  elseif step == "grid_remove" then
    return "grid_remove", "DELETE", "/api/v4/grids/" .. item.grid .. "/packages/" .. item.slug .. "/", nil, item
  elseif step == "delete" then
    return "delete", "DELETE", "/api/v4/packages/" .. item.slug .. "/", nil, item
  elseif step == "cell" then
    local grid = pick(grids)
    local package = (grid - 1) * grid_members + pick(grid_members)
    local feature = (grid - 1) * grid_features + pick(grid_features)
    if package > packages then
      package = pick(packages) -- not a member: answered 404, and counted as an error
    end
    return "cell", "PUT", "/api/v4/grids/grid-" .. grid .. "/features/" .. feature .. "/elements/package-"
      .. package .. "/", '{"text": "Yes, since ' .. tag .. "." .. writes .. '"}', nil
  elseif step == "edit_seeded" then
    local body = '{"documentation_url": "https://docs.example.org/' .. tag .. "/" .. writes .. '/"}'
    return "edit_seeded", "PATCH", "/api/v4/packages/package-" .. pick(packages) .. "/", body, nil
  end
  return "refresh_now", "POST", "/api/v4/packages/package-" .. pick(packages) .. "/refresh/", nil, nil
end

function request()
  sequence = sequence + 1
  local id = "soak-" .. tag .. "-" .. thread_id .. "-" .. sequence
  local headers = { ["X-Request-ID"] = id }
  local op, method, path, body, item
  if math.random() < write_share then
    op, method, path, body, item = write()
    headers["Authorization"] = "Bearer " .. token
    if body then
      headers["Content-Type"] = "application/json"
    end
  else
    op, path = read()
    method = "GET"
  end
  pending[id] = { op = op, start = now_ms(), item = item }
  return wrk.format(method, path, headers, body)
end

-- Latency buckets: 1 ms wide up to 100 ms, then 2% wide (a percentile is its bucket's top).
local function bucket(ms)
  if ms < 100 then
    return math.floor(ms)
  end
  return 100 + math.floor(math.log(ms / 100) / math.log(1.02))
end

local function bucket_top(b)
  if b < 100 then
    return b + 1
  end
  return 100 * 1.02 ^ (b - 99)
end

local next_queue = { create = "created", edit = "edited", grid_add = "in_grid", grid_remove = "doomed" }

function response(status, headers, _body)
  local id = headers["x-request-id"] or headers["X-Request-ID"]
  local sent = id and pending[id]
  local op = sent and sent.op or "unknown"
  local key = op .. " " .. status
  statuses[key] = (statuses[key] or 0) + 1
  if not sent then
    return
  end
  pending[id] = nil
  local ms = now_ms() - sent.start
  local slot = op .. " " .. bucket(ms)
  latencies[slot] = (latencies[slot] or 0) + 1
  longest[op] = math.max(longest[op] or 0, ms)
  local target = next_queue[op]
  if target and status >= 200 and status < 300 then
    push(_G[target], sent.item)
  end
end

local function json(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = string.format("%q: %s", tostring(k), json(v))
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  elseif kind == "number" then
    return string.format("%.6g", value)
  end
  return string.format("%q", tostring(value))
end

function done(summary, latency, _requests)
  local counts, by_status, longest_of = {}, {}, {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do
      by_status[key] = (by_status[key] or 0) + count
    end
    for slot, count in pairs(thread:get("latencies")) do
      local op, b = slot:match("^(%S+) (%d+)$")
      counts[op] = counts[op] or {}
      counts[op][tonumber(b)] = (counts[op][tonumber(b)] or 0) + count
    end
    for op, ms in pairs(thread:get("longest")) do
      longest_of[op] = math.max(longest_of[op] or 0, ms)
    end
  end
  local per_op = {}
  for op, buckets in pairs(counts) do
    local order, total = {}, 0
    for b, count in pairs(buckets) do
      order[#order + 1] = b
      total = total + count
    end
    table.sort(order)
    local function percentile(p)
      local seen = 0
      for _, b in ipairs(order) do
        seen = seen + buckets[b]
        if seen >= total * p / 100 then
          return bucket_top(b)
        end
      end
      return 0
    end
    per_op[op] = { count = total, p50_ms = percentile(50), p99_ms = percentile(99), max_ms = longest_of[op] }
  end
  local result = {
    requests = summary.requests,
    duration_s = summary.duration / 1e6,
    errors = summary.errors,
    latency_ms = {
      p50 = latency:percentile(50) / 1000,
      p90 = latency:percentile(90) / 1000,
      p99 = latency:percentile(99) / 1000,
      max = latency.max / 1000,
      mean = latency.mean / 1000,
    },
    ops = per_op,
    statuses = by_status,
  }
  local file = assert(io.open(out_path, "w"))
  file:write(json(result))
  file:close()
end
