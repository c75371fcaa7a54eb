-- GET /api/v1/customers/{code}/balance for random customers. Args: KEY CODES_FILE
local function lines(path)
  local t = {}
  for line in io.lines(path) do
    if #line > 0 then t[#t + 1] = line end
  end
  return t
end
local codes
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  codes = lines(args[2])
  math.randomseed(os.time() * 1000 + (tid or 0))
end
function request()
  return wrk.format("GET", "/api/v1/customers/" .. codes[math.random(#codes)] .. "/balance")
end
