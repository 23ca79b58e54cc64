#!/usr/bin/env bash
# A whole MedLearn deployment on one machine, on 127.0.0.1 only: PostgreSQL (the shared run
# store), a Ray head and one Ray worker (training), two Streamlit replicas and nginx pinning
# each browser to one replica. For trying the scale-out set-up and for its tests; a real
# course uses deploy/compose.yaml (see deploy/GUIDE.md).
#
#   bash scripts/cluster.sh start   # prints the address and the environment to reuse
#   bash scripts/cluster.sh status
#   bash scripts/cluster.sh stop    # stops everything it started; the data folder stays
#
# Settings (environment): MEDLEARN_CLUSTER_DIR (default /tmp/medlearn-cluster), and the
# ports MEDLEARN_CLUSTER_PORT (nginx, 8500), ..._PG_PORT (55432), ..._RAY_PORT (6380),
# ..._APP_PORTS ("8601 8602").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
DIR="${MEDLEARN_CLUSTER_DIR:-/tmp/medlearn-cluster}"
PORT="${MEDLEARN_CLUSTER_PORT:-8500}"
PG_PORT="${MEDLEARN_CLUSTER_PG_PORT:-55432}"
RAY_PORT="${MEDLEARN_CLUSTER_RAY_PORT:-6380}"
APP_PORTS="${MEDLEARN_CLUSTER_APP_PORTS:-8601 8602}"
RAY_TMP="/tmp/medlearn-ray-$RAY_PORT"  # Ray's socket paths must stay short (107 bytes)
PY="$ROOT/.venv/bin/python"
RAY="$ROOT/.venv/bin/ray"
PG_BIN="$(dirname "$(readlink -f "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)")")"

as_pg() {  # PostgreSQL refuses to run as root: use its own account then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

env_file() {
  cat <<EOF
export MEDLEARN_HOME="$DIR/home"
export MEDLEARN_DATABASE_URL="postgresql+psycopg://medlearn@127.0.0.1:$PG_PORT/medlearn"
export MEDLEARN_RAY_ADDRESS="127.0.0.1:$RAY_PORT"
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$DIR/ray-token" RAY_DISABLE_USAGE_STATS=1
EOF
}

start() {
  trap 'echo "[cluster] a step failed; the last lines of its logs ($DIR/logs):" >&2; tail -n 15 "$DIR"/logs/*.log >&2 2>/dev/null' ERR
  [ -x "$PY" ] || bash scripts/setup.sh
  "$PY" -c "import ray, psycopg, sqlalchemy" 2>/dev/null || "$PY" -m pip install -q -r deploy/requirements-cluster.txt
  command -v nginx >/dev/null || { echo "nginx is not installed (apt-get install nginx-light)"; exit 2; }
  [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; exit 2; }
  mkdir -p "$DIR/home" "$DIR/run" "$DIR/logs"
  env_file > "$DIR/env"
  # Ray's nodes and clients prove themselves with a token (kept beside the data, not in the repo)
  [ -s "$DIR/ray-token" ] || (umask 077 && "$PY" -c "import secrets; print(secrets.token_hex(32))" >"$DIR/ray-token")
  # shellcheck disable=SC1091
  . "$DIR/env"

  # PostgreSQL: a throwaway cluster in $DIR/pg, trust auth on loopback only
  mkdir -p "$DIR/pg"
  [ "$(id -u)" != 0 ] || chown postgres "$DIR/pg" "$DIR/run" "$DIR/logs"
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    mkdir -p "$DIR/pg"
    as_pg "$PG_BIN/initdb" -D "$DIR/pg" -U medlearn --auth=trust -E UTF8 >"$DIR/logs/initdb.log"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" status >/dev/null 2>&1 \
    || as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" -l "$DIR/logs/postgres.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR/run" start >/dev/null
  as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U medlearn -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='medlearn'" | grep -q 1 \
    || as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U medlearn medlearn

  # Ray: a head (no tasks of its own) and one worker with one CPU, both on loopback
  "$RAY" start --head --node-ip-address=127.0.0.1 --port="$RAY_PORT" \
    --num-cpus=0 --include-dashboard=false --disable-usage-stats \
    --temp-dir="$RAY_TMP" >"$DIR/logs/ray-head.log" 2>&1
  "$RAY" start --address="127.0.0.1:$RAY_PORT" --node-ip-address=127.0.0.1 \
    --num-cpus=1 >"$DIR/logs/ray-worker.log" 2>&1

  # Streamlit replicas, each with its own models in memory, all on the shared store
  upstreams=""
  for p in $APP_PORTS; do
    nohup "$PY" -m streamlit run serve.py --server.port "$p" --server.address 127.0.0.1 \
      --server.headless true --browser.gatherUsageStats false >"$DIR/logs/app-$p.log" 2>&1 &
    echo $! >"$DIR/run/app-$p.pid"
    upstreams="$upstreams        server 127.0.0.1:$p max_fails=1 fail_timeout=5s;\n"
  done
  sed -e "s#__RUN__#$DIR/run#g" -e "s#__LISTEN__#127.0.0.1:$PORT#" -e "s#__UPSTREAMS__#$upstreams#" \
    deploy/nginx.conf >"$DIR/run/nginx.conf"
  nginx -c "$DIR/run/nginx.conf" -p "$DIR/run"

  for p in $APP_PORTS; do
    for _ in $(seq 1 120); do
      curl -fsS "http://127.0.0.1:$p/_stcore/health" >/dev/null 2>&1 && break
      sleep 0.5
    done
  done
  echo "MedLearn cluster: http://127.0.0.1:$PORT (replicas on $APP_PORTS; Ray 127.0.0.1:$RAY_PORT;"
  echo "PostgreSQL 127.0.0.1:$PG_PORT). Environment of the replicas: $DIR/env"
}

stop() {
  [ -f "$DIR/run/nginx.pid" ] && nginx -c "$DIR/run/nginx.conf" -p "$DIR/run" -s quit 2>/dev/null || true
  for f in "$DIR"/run/app-*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  # ray stop ends every Ray process of this machine: the local cluster is meant to be the only one
  [ -x "$RAY" ] && RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$DIR/ray-token" "$RAY" stop --force >/dev/null 2>&1 || true
  rm -rf "$RAY_TMP"
  [ -f "$DIR/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null || true
  echo "MedLearn cluster stopped (data kept in $DIR)."
}

status() {
  for p in $APP_PORTS; do
    printf "replica %s: " "$p"; curl -fsS "http://127.0.0.1:$p/_stcore/health" 2>/dev/null || printf "down"; echo
  done
  printf "proxy %s: " "$PORT"; curl -fsS "http://127.0.0.1:$PORT/_stcore/health" 2>/dev/null || printf "down"; echo
  RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$DIR/ray-token" "$RAY" status --address="127.0.0.1:$RAY_PORT" 2>/dev/null | sed -n '1,12p' || echo "ray: down"
  as_pg "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status"; exit 2 ;;
esac
