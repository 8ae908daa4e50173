-- The request of a load-bench cell, for wrk (scripts/loadbench.sh, scripts/server_ab.sh):
-- METHOD, and for POST the JSON BODY, with the capability token in TOKEN.
wrk.method = os.getenv("METHOD")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
if os.getenv("METHOD") == "POST" then wrk.body = os.getenv("BODY") end
