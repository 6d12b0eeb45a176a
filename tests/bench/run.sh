#!/usr/bin/env bash
# `make bench`: starts its own MariaDB and Redis (as the tests do), measures
# the raw MariaDB yardstick, then runs every benchmark binary the build has.
# Prints one line per figure: `bench: <name> <value> <unit> [details]`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && realpath -m "${1:-build}")
DIR=$BUILD/bench-servers
HARNESS=$ROOT/tests/harness/servers.sh

"$HARNESS" start "$DIR" >/dev/null
trap '"$HARNESS" stop "$DIR" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$DIR/env"
export PROPDESK_TEST_ENV=$DIR/env PROPDESK_HARNESS=$HARNESS PROPDESK_TEST_TMP=$BUILD/bench-tmp

echo "bench: cores $(nproc)"

# Yardstick: raw single-row autocommit INSERT throughput at 64 clients.
queries=64000
secs=$(mariadb-slap --no-defaults -h127.0.0.1 -P"$PROPDESK_MYSQL_PORT" -upropdesk -ppropdesk \
  --concurrency=64 --number-of-queries=$queries --iterations=1 --create-schema=bench_slap \
  --create="CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(64)) ENGINE=InnoDB" \
  --query="INSERT INTO t (a, b) VALUES (1, 'propdesk-yardstick-row')" 2>/dev/null |
  awk '/Average number of seconds to run all queries/ {print $(NF-1)}')
rate=$(awk -v q=$queries -v s="$secs" 'BEGIN { printf "%.0f", q / s }')
echo "bench: mariadb_raw_insert_64_clients ${rate} rows/s (mariadb-slap, ${queries} autocommit inserts in ${secs} s)"
echo "$rate" >"$DIR/yardstick"
export PROPDESK_BENCH_YARDSTICK=$rate

# Every benchmark binary of the build (tests/bench and services/*/bench).
# Each starts from an empty Redis: one binary's idempotency keys and event
# streams would otherwise weigh on the next one's figures.
find "$BUILD" -type f -executable -name 'bench_*' | sort | while read -r bin; do
  redis-cli -p "$PROPDESK_REDIS_PORT" FLUSHALL >/dev/null
  "$bin"
done
