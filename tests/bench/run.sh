#!/usr/bin/env bash
# `make bench`: starts its own MariaDB and Redis (as the tests do), measures
# the raw MariaDB yardstick, then runs every benchmark binary the build has.
# Prints one line per figure: `bench: <name> <value> <unit> [details]`.
#
# Each measurement gets fresh servers: one binary's tables, idempotency keys
# and the database's background flushing of them weighed on the next
# binary's figures (CreateTicket at 64 callers measured 6,400/s with p99
# 16.6 ms right after bench_gateway, 7,800-8,600/s with p99 12 ms alone).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && realpath -m "${1:-build}")
HARNESS=$ROOT/tests/harness/servers.sh
DIR=

# Stops the servers and drops their data, then waits for the disk: the
# kernel writing back a stopped server's files slowed the next one's
# commits.
stop_servers() {
  [ -n "$DIR" ] || return 0
  "$HARNESS" stop "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
  sync
}
trap stop_servers EXIT

# Stops the servers of the last measurement and starts new, empty ones.
fresh_servers() {
  stop_servers
  DIR=$BUILD/bench-servers/$1
  "$HARNESS" start "$DIR" >/dev/null
  # shellcheck disable=SC1091
  . "$DIR/env"
  export PROPDESK_TEST_ENV=$DIR/env PROPDESK_HARNESS=$HARNESS PROPDESK_TEST_TMP=$BUILD/bench-tmp
}

echo "bench: cores $(nproc)"

# Yardstick: raw single-row autocommit INSERT throughput at 64 clients.
fresh_servers yardstick
queries=64000
secs=$(mariadb-slap --no-defaults -h127.0.0.1 -P"$PROPDESK_MYSQL_PORT" -upropdesk -ppropdesk \
  --concurrency=64 --number-of-queries=$queries --iterations=1 --create-schema=bench_slap \
  --create="CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(64)) ENGINE=InnoDB" \
  --query="INSERT INTO t (a, b) VALUES (1, 'propdesk-yardstick-row')" 2>/dev/null |
  awk '/Average number of seconds to run all queries/ {print $(NF-1)}')
rate=$(awk -v q=$queries -v s="$secs" 'BEGIN { printf "%.0f", q / s }')
echo "bench: mariadb_raw_insert_64_clients ${rate} rows/s (mariadb-slap, ${queries} autocommit inserts in ${secs} s)"
export PROPDESK_BENCH_YARDSTICK=$rate

# Every benchmark binary of the build (tests/bench and services/*/bench).
while read -r bin; do
  fresh_servers "$(basename "$bin")"
  "$bin"
done < <(find "$BUILD" -type f -executable -name 'bench_*' | sort)
