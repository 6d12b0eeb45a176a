#!/usr/bin/env bash
# `make run` / `make stop` / `make status`: the whole propdesk system as local
# processes on fixed loopback ports, state under .run/. Idempotent: what is
# already running is left alone.
#
#   run.sh start|stop|status BUILD_DIR
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$ROOT/.run
BUILD=$(cd "$ROOT" && realpath -m "${2:-build}")
HARNESS=$ROOT/tests/harness/servers.sh

MYSQL_PORT=13306
REDIS_PORT=16379
PROMETHEUS_PORT=19090
# JWT secret for local development only (HS256); production uses RS256 keys.
DEV_JWT_SECRET=propdesk-local-development-secret-0123456789

# name  grpc-port  metrics-port  (a service runs only once its binary exists)
SERVICES=(
  "tickets   50051 9101"
  "visitors  50052 9102"
  "mail      50053 9103"
  "keys      50054 9104"
  "billing   50055 9105"
  "staffeval 50056 9106"
)
GATEWAY_HTTP_PORT=8080
GATEWAY_METRICS_PORT=9100
GATEWAY_URL=http://127.0.0.1:$GATEWAY_HTTP_PORT
GATEWAY_BIN=$BUILD/gateway/propdesk-gateway
# The demo data of the services (tickets/demo.h): site SZ01 of group "demo".
DEMO_SITE=SZ01

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_servers() {
  mkdir -p "$RUN"
  if running "$RUN/mariadb/mysqld.pid"; then echo "mariadb   already running"; else
    "$HARNESS" start-mariadb "$RUN" $MYSQL_PORT; echo "mariadb   started"; fi
  if running "$RUN/redis/redis.pid"; then echo "redis     already running"; else
    "$HARNESS" start-redis "$RUN" $REDIS_PORT; echo "redis     started"; fi
}

service_binary() { echo "$BUILD/services/$1/propdesk-$1"; }

start_service() {
  local name=$1 grpc=$2 metrics=$3
  local bin; bin=$(service_binary "$name")
  [ -x "$bin" ] || return 0
  local pidf=$RUN/$name.pid
  if running "$pidf"; then echo "$name already running"; return; fi
  mariadb --no-defaults -h127.0.0.1 -P$MYSQL_PORT -upropdesk -ppropdesk \
    -e "CREATE DATABASE IF NOT EXISTS propdesk_$name CHARACTER SET utf8mb4"
  env GRPC_PORT="$grpc" METRICS_PORT="$metrics" \
    MYSQL_DSN="mysql://propdesk:propdesk@127.0.0.1:$MYSQL_PORT/propdesk_$name" \
    REDIS_ADDR="127.0.0.1:$REDIS_PORT" JWT_HS256_SECRET="$DEV_JWT_SECRET" \
    MIGRATIONS_DIR="$ROOT/services/$name/migrations" \
    COMMON_MIGRATIONS_DIR="$ROOT/services/common/migrations" \
    DEMO_DATA="${PROPDESK_DEMO_DATA:-1}" LOG_LEVEL=info \
    "$bin" >>"$RUN/$name.log" 2>&1 &
  echo $! >"$pidf"
  echo "$name started (gRPC 127.0.0.1:$grpc, metrics http://127.0.0.1:$metrics/metrics)"
}

# The gateway in front of the services that run: their upstream addresses
# and their descriptor sets (only theirs: build/descriptors also holds the
# test services' sets, which would have no upstream).
start_gateway() {
  [ -x "$GATEWAY_BIN" ] || return 0
  local pidf=$RUN/gateway.pid
  if running "$pidf"; then echo "gateway already running"; return; fi
  local upstreams="" descriptors=""
  for s in "${SERVICES[@]}"; do
    set -- $s
    running "$RUN/$1.pid" || continue
    local descriptor_set=$BUILD/descriptors/propdesk_$1.pb
    [ -f "$descriptor_set" ] || continue
    upstreams+="$1=127.0.0.1:$2,"
    descriptors+="$descriptor_set,"
  done
  if [ -z "$upstreams" ]; then echo "gateway not started: no service runs"; return 0; fi
  env HTTP_HOST=127.0.0.1 HTTP_PORT=$GATEWAY_HTTP_PORT METRICS_PORT=$GATEWAY_METRICS_PORT \
    GATEWAY_UPSTREAMS="${upstreams%,}" GATEWAY_DESCRIPTORS="${descriptors%,}" \
    JWT_HS256_SECRET="$DEV_JWT_SECRET" REDIS_ADDR="127.0.0.1:$REDIS_PORT" LOG_LEVEL=info \
    "$GATEWAY_BIN" >>"$RUN/gateway.log" 2>&1 &
  echo $! >"$pidf"
  echo "gateway started ($GATEWAY_URL, upstreams ${upstreams%,})"
}

# Waits until the gateway answers /readyz (every upstream SERVING).
wait_for_gateway() {
  running "$RUN/gateway.pid" || return 1
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$GATEWAY_URL/readyz" && return 0
    running "$RUN/gateway.pid" || break
    sleep 0.1
  done
  echo "gateway not ready after 30 s; see .run/gateway.log and the services' logs" >&2
  return 1
}

# Development tokens (HS256 with the dev secret, valid 12 h) and curl lines
# that work as printed; the tokens are also kept in .run/tokens.env.
print_gateway_usage() {
  wait_for_gateway || return 0
  JWT_HS256_SECRET="$DEV_JWT_SECRET" DEMO_SITE=$DEMO_SITE "$GATEWAY_BIN" demo-tokens \
    | sed 's/^/export /' >"$RUN/tokens.env"
  local key
  key="demo-$(date +%s)"
  cat <<TXT

Tokens (valid 12 h; also in .run/tokens.env — '. .run/tokens.env' sets them):
  GROUP_ADMIN_TOKEN  group admin: every site of group demo
  SITE_TOKEN         front desk of site $DEMO_SITE only (another site's records are 404)

$(cat "$RUN/tokens.env")

Create a ticket (the same Idempotency-Key again returns the same ticket), then list:

curl -sS -X POST $GATEWAY_URL/v1/sites/$DEMO_SITE/tickets -H "Authorization: Bearer \$SITE_TOKEN" -H 'Content-Type: application/json' -H 'Idempotency-Key: $key' -d '{"kind":"TICKET_KIND_REPAIR","channel":"TICKET_CHANNEL_PHONE","category":"TICKET_CATEGORY_FACILITIES_EQUIPMENT","unit":"3-1502","contact":{"name":"Ms Li","phone":"+86 138 0000 0000"},"description":"Kitchen tap leaking"}'
curl -sS "$GATEWAY_URL/v1/sites/$DEMO_SITE/tickets?pageSize=10" -H "Authorization: Bearer \$SITE_TOKEN"

The whole API: $GATEWAY_URL/openapi.json
TXT
}

write_prometheus_config() {
  local targets=""
  for s in "${SERVICES[@]}"; do
    set -- $s
    [ -x "$(service_binary "$1")" ] && targets+="'127.0.0.1:$3', "
  done
  [ -x "$GATEWAY_BIN" ] && targets+="'127.0.0.1:$GATEWAY_METRICS_PORT', "
  mkdir -p "$RUN/prometheus"
  cat >"$RUN/prometheus/prometheus.yml" <<YML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $ROOT/deploy/prometheus/alerts.yml
scrape_configs:
  - job_name: propdesk
    static_configs:
      - targets: [${targets%, }]
YML
}

start_prometheus() {
  local pidf=$RUN/prometheus/prometheus.pid
  write_prometheus_config
  if running "$pidf"; then
    kill -HUP "$(cat "$pidf")"  # reload targets
    echo "prometheus already running (config reloaded)"; return
  fi
  prometheus --config.file="$RUN/prometheus/prometheus.yml" \
    --storage.tsdb.path="$RUN/prometheus/data" \
    --web.listen-address=127.0.0.1:$PROMETHEUS_PORT \
    >>"$RUN/prometheus/prometheus.log" 2>&1 &
  echo $! >"$pidf"
  echo "prometheus started"
}

start() {
  start_servers
  for s in "${SERVICES[@]}"; do start_service $s; done
  start_gateway
  start_prometheus
  cat <<TXT

propdesk is running (state in .run/, logs in .run/*.log; 'make stop' stops it):
  MariaDB      127.0.0.1:$MYSQL_PORT   (user propdesk / propdesk)
  Redis        127.0.0.1:$REDIS_PORT
  Prometheus   http://127.0.0.1:$PROMETHEUS_PORT
TXT
  for s in "${SERVICES[@]}"; do
    set -- $s
    [ -x "$(service_binary "$1")" ] && printf '  %-12s grpc 127.0.0.1:%s  metrics http://127.0.0.1:%s/metrics\n' "$1" "$2" "$3"
  done
  running "$RUN/gateway.pid" &&
    printf '  %-12s %s  metrics http://127.0.0.1:%s/metrics\n' gateway "$GATEWAY_URL" $GATEWAY_METRICS_PORT
  print_gateway_usage
  return 0
}

stop_pid() {
  local name=$1 pidf=$2
  if running "$pidf"; then
    kill "$(cat "$pidf")"
    for _ in $(seq 100); do running "$pidf" || break; sleep 0.1; done
    echo "$name stopped"
  fi
  rm -f "$pidf"
}

stop() {
  stop_pid gateway "$RUN/gateway.pid"  # first: it calls the services
  for s in "${SERVICES[@]}"; do set -- $s; stop_pid "$1" "$RUN/$1.pid"; done
  stop_pid prometheus "$RUN/prometheus/prometheus.pid"
  "$HARNESS" stop-redis "$RUN" && echo "redis stopped"
  "$HARNESS" stop-mariadb "$RUN" && echo "mariadb stopped"
}

status() {
  local show
  show() { if running "$2"; then printf '%-12s running (pid %s)\n' "$1" "$(cat "$2")"; else printf '%-12s stopped\n' "$1"; fi; }
  show mariadb "$RUN/mariadb/mysqld.pid"
  show redis "$RUN/redis/redis.pid"
  show prometheus "$RUN/prometheus/prometheus.pid"
  for s in "${SERVICES[@]}"; do
    set -- $s
    [ -x "$(service_binary "$1")" ] && show "$1" "$RUN/$1.pid"
  done
  [ -x "$GATEWAY_BIN" ] && show gateway "$RUN/gateway.pid"
  return 0
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: run.sh start|stop|status BUILD_DIR" >&2; exit 2 ;;
esac
