-- wrk script: POST a non-streamed chat completion (max-throughput runs in run.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mock-llama","stream":false,"messages":[{"role":"user","content":"What does glassbox do?"}]}'
