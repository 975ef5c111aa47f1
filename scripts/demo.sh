#!/usr/bin/env bash
# One command from a fresh clone to a running Tollgate with a demo account:
# installs dependencies, builds, migrates, seeds a demo, and starts the bundled dev upstream,
# the api and the worker. Needs Node >= 20.19 and PostgreSQL + Redis on their default local
# ports (override with DATABASE_URL / REDIS_URL). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

export NODE_ENV="${NODE_ENV:-development}"
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/tollgate}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# Sample secrets: accepted in development only (production refuses them at boot).
export ENCRYPTION_KEYS="${ENCRYPTION_KEYS:-dev1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}"
export JWT_SECRET="${JWT_SECRET:-dev-jwt-secret-change-me-0123456789abcdef}"
export PORT="${PORT:-3000}"
export HOST="${HOST:-127.0.0.1}"
export DEV_UPSTREAM_PORT="${DEV_UPSTREAM_PORT:-18080}"
export DEV_UPSTREAM_API_KEY="${DEV_UPSTREAM_API_KEY:-sk-dev-upstream}"
export DEMO_UPSTREAM_URL="http://127.0.0.1:${DEV_UPSTREAM_PORT}/v1"
export DEMO_UPSTREAM_KEY="$DEV_UPSTREAM_API_KEY"
export LOG_LEVEL="${LOG_LEVEL:-warn}"

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
npm run db:migrate --silent
SEED_JSON="$(npm run db:seed-demo --silent)"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

node dist/src/dev-upstream/main.js & PIDS+=($!)
node dist/src/main.js & PIDS+=($!)
node dist/src/worker.js & PIDS+=($!)

BASE="http://${HOST}:${PORT}"
for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$BASE/readyz" >/dev/null || { echo "api did not become ready at $BASE" >&2; exit 1; }

field() { node -e 'process.stdout.write(String(JSON.parse(process.argv[1])[process.argv[2]] ?? process.argv[3] ?? ""))' "$SEED_JSON" "$@"; }
KEY="$(field apiKey)"
SERVICE_KEY="$(field serviceKey)"
ADMIN_EMAIL="$(field adminEmail)"
ADMIN_PW="$(field adminPassword '(printed on the first run; change it at first login)')"
USER_EMAIL="$(field userEmail)"
USER_PW="$(field userPassword)"
cat <<MSG

Tollgate is running.
  console       $BASE/console/   (log in as the user or the admin below)
  base URL      $BASE/v1
  demo key      $KEY
  user          $USER_EMAIL / $USER_PW   (credits: $(field balance))
  admin         $ADMIN_EMAIL / $ADMIN_PW   (super admin)
  service key   $SERVICE_KEY   (scopes users:read, users:write, llm-config:read)
  models        mock-model (chat), mock-embed (embeddings), served by the bundled dev upstream

Try it:
  curl $BASE/v1/chat/completions \\
    -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
    -d '{"model":"mock-model","messages":[{"role":"user","content":"Hello Tollgate"}]}'

  # OpenAI SDK (npm i openai):
  node -e 'const OpenAI=require("openai");new OpenAI({apiKey:"$KEY",baseURL:"$BASE/v1"}).chat.completions.create({model:"mock-model",messages:[{role:"user",content:"Hello"}]}).then(r=>console.log(r.choices[0].message.content, r.usage))'

  # Log in as the demo user, then read your usage, credits and call log:
  TOKEN=\$(curl -s $BASE/auth/login -H "Content-Type: application/json" \\
    -d '{"login":"$USER_EMAIL","password":"$USER_PW"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')
  curl -s $BASE/user/info -H "Authorization: Bearer \$TOKEN"
  curl -s "$BASE/user/model-calls?pageSize=5" -H "Authorization: Bearer \$TOKEN"

  # List users through the service key (the external user API answers the same key):
  curl -s "$BASE/admin/users?pageSize=10" -H "X-API-Key: $SERVICE_KEY"
  curl -s "$BASE/api/toiee/users?page=1&limit=10" -H "X-API-Key: $SERVICE_KEY"

  # A coding agent's LLM settings for GitHub user demo-dev (docs/coding-agents.md):
  curl -H "Authorization: Bearer $SERVICE_KEY" $BASE/v1/users/github/demo-dev/llm-config

Ctrl-C stops the api, the worker and the dev upstream.
MSG
wait
