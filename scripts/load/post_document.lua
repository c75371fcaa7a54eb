-- POST /api/v1/documents: a new invoice per request, each with its own Idempotency-Key and
-- document number. Args: KEY CODES_FILE NONCE
local function lines(path)
  local t = {}
  for line in io.lines(path) do
    if #line > 0 then t[#t + 1] = line end
  end
  return t
end
local codes, nonce
local n = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  codes = lines(args[2])
  nonce = args[3]
  math.randomseed(os.time() * 1000 + (tid or 0))
end
function request()
  n = n + 1
  local doc_no = string.format("LT-%s-%d-%d", nonce, tid, n)
  local body = string.format(
    '{"doc_type":"invoice","doc_no":"%s","customer_code":"%s","issue_date":"2026-11-01",' ..
    '"due_date":"2026-12-01","currency":"EUR","amount":"%d.%02d"}',
    doc_no, codes[math.random(#codes)], math.random(10, 99999), math.random(0, 99))
  -- wrk.format replaces wrk.headers when given a table: copy them.
  local headers = { ["Idempotency-Key"] = "key-" .. doc_no }
  for k, v in pairs(wrk.headers) do headers[k] = v end
  return wrk.format("POST", "/api/v1/documents", headers, body)
end
