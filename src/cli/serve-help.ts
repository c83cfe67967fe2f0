// The help of `serve` and `worker`, apart from their code: the command table lists it without loading
// the server's packages (fastify, bullmq), which `train` and `prepare` do not need (the GPU machine
// carries only what training uses).
const common = `  --models <dir>        a folder of exported models (*.safetensors + optional *.card.json); repeat for
                        several (default: the repository's models/, or $CREATIVEAI_MODELS, colon-separated)
  --device <d>          cpu | cuda | cuda:N (default: cuda when available)
  --memory-limit <MiB>  float32 weights kept loaded before the least recently used model is unloaded (2048)
  --max-batch <n>       images per forward pass when batching requests (64)`;

export const serveHelp = `Usage: creativeai serve [options]

Serves the web page and the HTTP API (OpenAPI at /docs) on the bundled models.

  --port <n>            (default $PORT or 8050)
  --host <addr>         (default $HOST or 127.0.0.1; 0.0.0.0 to listen on every interface)
${common}
  --redis <url>         put generation on a Redis queue for \`creativeai worker\` processes (default $REDIS_URL;
                        without it models run on a generation thread of this process)
  --max-queue <units>   queued work past which new requests get 503 + Retry-After (4096); work is counted
                        in 64×64-image units summed over a model's stages (a 64+256 px image costs 17)
  --max-client <units>  one client's queued work past which its new requests get 429 + Retry-After (1024)
  --slice <units>       the most work run at once: a larger request runs in slices of this, so light
                        requests never wait behind more than one slice (48)
  --trust-proxy <v>     behind a reverse proxy: true, or the proxy addresses (comma-separated), so that
                        X-Forwarded-For names the client for fair shares and limits (default: off)
  --game-stats <file>   where Real-or-Fake tallies are kept (default runs/game-stats.json)
  --log                 log every request (JSON lines)`;

export const workerHelp = `Usage: creativeai worker --redis <url> [options]

A model worker: takes generation jobs that \`creativeai serve --redis\` queued and answers them. Run as
many as you like, on any machines that reach Redis and hold the same models.

  --redis <url>         (default $REDIS_URL)
  --concurrency <n>     jobs taken at once, batched per model (16)
  --max-queue <n>       images this worker holds before refusing jobs (512)
  --heartbeat <file>    touch this file every 5 s while connected to Redis (for container health checks)
${common}`;
