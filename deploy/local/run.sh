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

write_prometheus_config() {
  local targets=""
  for s in "${SERVICES[@]}"; do
    set -- $s
    [ -x "$(service_binary "$1")" ] && targets+="'127.0.0.1:$3', "
  done
  [ -x "$BUILD/gateway/propdesk-gateway" ] && targets+="'127.0.0.1:$GATEWAY_METRICS_PORT', "
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
  return 0
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: run.sh start|stop|status BUILD_DIR" >&2; exit 2 ;;
esac
