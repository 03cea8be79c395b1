-- wrk script: one cell focus event per request, from 300 students on 60 cells, either as the
-- old extension's REST body (`/send/clickevent/cell`) or as the `recordCellFocus` mutation
-- (`/graphql`): the path given on the wrk command line decides.
--   wrk -t2 -c64 -d10s -s bench/wrk/ingest.lua http://127.0.0.1:8000/send/clickevent/cell
local notebook = os.getenv("NOTEBOOK") or "bench-notebook-0001"
local mutation = "mutation($e: CellFocusInput!) { recordCellFocus(event: $e) { acceptedCount } }"
local graphql = false

function init(args)
  graphql = string.find(wrk.path, "/graphql", 1, true) ~= nil
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local function event(camel)
  local student = string.format("student-%04d", math.random(300))
  local cell = string.format("cell-%02d", math.random(60))
  local on = math.random(2) == 1
  local click = on and "ON" or "OFF"
  local duration = on and "null" or string.format("%.1f", math.random() * 60)
  local time = os.date("!%Y-%m-%dT%H:%M:%S.000Z")
  if camel then
    return string.format(
      '{"notebookId":"%s","userId":"%s","cellId":"%s","origCellId":"%s","clickType":"%s","time":"%s","clickDuration":%s}',
      notebook, student, cell, cell, click, time, duration)
  end
  return string.format(
    '{"notebook_id":"%s","user_id":"%s","cell_id":"%s","orig_cell_id":"%s","click_type":"%s","time":"%s","click_duration":%s}',
    notebook, student, cell, cell, click, time, duration)
end

function request()
  local body
  if graphql then
    body = string.format('{"query":"%s","variables":{"e":%s}}', mutation, event(true))
  else
    body = event(false)
  end
  return wrk.format(nil, nil, nil, body)
end
