-- POST /api/v1/bank-statements: a small CSV statement (5 new lines) per request.
-- Args: KEY ACCOUNT_IBAN NONCE
local account, nonce
local n = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "text/csv"
  account = args[2]
  nonce = args[3]
  math.randomseed(os.time() * 1000 + (tid or 0))
end
function request()
  n = n + 1
  local rows = { "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name," ..
                 "counterparty_iban,remittance,end_to_end_id" }
  for i = 1, 5 do
    rows[#rows + 1] = string.format("LT-%s-%d-%d-%d,%s,2026-11-02,2026-11-02,%d.%02d,EUR,LOAD TEST GMBH,,INV %d,",
      nonce, tid, n, i, account, math.random(1, 9999), math.random(0, 99), n)
  end
  return wrk.format("POST", "/api/v1/bank-statements?format=csv", nil, table.concat(rows, "\n") .. "\n")
end
