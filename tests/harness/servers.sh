#!/usr/bin/env bash
# Starts and stops the real MariaDB and Redis that propdesk's tests (and
# `make run`) talk to, as plain processes on loopback ports with all their
# state under one directory. No system service is used or touched.
#
#   servers.sh start DIR           both servers on free ports; writes DIR/env
#   servers.sh stop DIR            stops both, removes nothing but pid files
#   servers.sh start-mariadb DIR [PORT] / stop-mariadb DIR
#   servers.sh start-redis DIR [PORT]   / stop-redis DIR
#
# DIR/env holds shell assignments (PROPDESK_MYSQL_PORT=…), read by the tests
# through PROPDESK_TEST_ENV. Works as root and as a normal user.
set -euo pipefail

MYSQL_USER_NAME=propdesk
MYSQL_USER_PASSWORD=propdesk

die() { echo "servers.sh: $*" >&2; exit 1; }

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

wait_for() {  # wait_for SECONDS command...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

user_args() { [ "$(id -u)" = 0 ] && echo "--user=root" || true; }

start_mariadb() {
  local dir=$1 port=${2:-}
  local data=$dir/mariadb
  mkdir -p "$data"
  [ -n "$port" ] || port=$( [ -f "$data/port" ] && cat "$data/port" || free_port )
  if [ ! -d "$data/db/mysql" ]; then
    mariadb-install-db --no-defaults $(user_args) --datadir="$data/db" \
      --auth-root-authentication-method=normal --skip-test-db \
      >"$data/install.log" 2>&1 || { cat "$data/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  # Settings chosen for a test/dev box: durable commits (as production) but a
  # small footprint; the statement timeout is set per connection by the pool.
  /usr/sbin/mariadbd --no-defaults $(user_args) --datadir="$data/db" \
    --port="$port" --bind-address=127.0.0.1 --socket="$data/mysqld.sock" \
    --pid-file="$data/mysqld.pid" --log-error="$data/error.log" \
    --skip-name-resolve --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci --default-time-zone=+00:00 \
    --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
    --max-connections=1000 --max-allowed-packet=64M \
    --performance-schema=OFF --skip-log-bin >/dev/null 2>&1 &
  echo "$port" >"$data/port"
  wait_for 60 mariadb --no-defaults -uroot --socket="$data/mysqld.sock" -e 'SELECT 1' \
    || { tail -20 "$data/error.log" >&2; die "MariaDB did not start on port $port"; }
  mariadb --no-defaults -uroot --socket="$data/mysqld.sock" <<SQL
CREATE USER IF NOT EXISTS '$MYSQL_USER_NAME'@'127.0.0.1' IDENTIFIED BY '$MYSQL_USER_PASSWORD';
CREATE USER IF NOT EXISTS '$MYSQL_USER_NAME'@'localhost' IDENTIFIED BY '$MYSQL_USER_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER_NAME'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MYSQL_USER_NAME'@'localhost' WITH GRANT OPTION;
SQL
}

stop_mariadb() {
  local data=$1/mariadb
  [ -f "$data/mysqld.pid" ] || return 0
  local pid; pid=$(cat "$data/mysqld.pid")
  kill "$pid" 2>/dev/null || true
  wait_for 60 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$data/mysqld.pid"
}

start_redis() {
  local dir=$1 port=${2:-}
  local data=$dir/redis
  mkdir -p "$data"
  [ -n "$port" ] || port=$( [ -f "$data/port" ] && cat "$data/port" || free_port )
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$data/redis.pid" --logfile "$data/redis.log" \
    --dir "$data" >/dev/null
  echo "$port" >"$data/port"
  wait_for 20 redis-cli -p "$port" ping || die "Redis did not start on port $port"
}

stop_redis() {
  local data=$1/redis
  [ -f "$data/redis.pid" ] || return 0
  local pid; pid=$(cat "$data/redis.pid")
  kill "$pid" 2>/dev/null || true
  wait_for 20 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$data/redis.pid"
}

write_env() {
  local dir=$1
  cat >"$dir/env" <<ENV
PROPDESK_MYSQL_HOST=127.0.0.1
PROPDESK_MYSQL_PORT=$(cat "$dir/mariadb/port")
PROPDESK_MYSQL_USER=$MYSQL_USER_NAME
PROPDESK_MYSQL_PASSWORD=$MYSQL_USER_PASSWORD
PROPDESK_REDIS_HOST=127.0.0.1
PROPDESK_REDIS_PORT=$(cat "$dir/redis/port")
ENV
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: servers.sh start|stop|start-mariadb|stop-mariadb|start-redis|stop-redis DIR [PORT]"
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
case "$cmd" in
  start)
    stop_mariadb "$dir"; stop_redis "$dir"
    start_mariadb "$dir"; start_redis "$dir"; write_env "$dir"
    echo "MariaDB on 127.0.0.1:$(cat "$dir/mariadb/port"), Redis on 127.0.0.1:$(cat "$dir/redis/port")" ;;
  stop) stop_mariadb "$dir"; stop_redis "$dir" ;;
  start-mariadb) start_mariadb "$dir" "${3:-}" ;;
  stop-mariadb) stop_mariadb "$dir" ;;
  start-redis) start_redis "$dir" "${3:-}" ;;
  stop-redis) stop_redis "$dir" ;;
  *) die "unknown command $cmd" ;;
esac
