#!/bin/bash
# Profile the whole request under gunicorn: `make run`'s config, wrk with 16 clients for 14 s,
# py-spy (pip install py-spy==0.4.3; not a project dependency) sampling each worker for 10 s.
#   bash bench/gunicorn_profile.sh OUT [--gil]      -> OUT.<pid>.txt (collapsed stacks), then
#   python bench/collapsed_summary.py OUT.*.txt    -> share of samples per function
# --gil samples only the thread holding the GIL (Python CPU); without it every active thread.
set -e
OUT=${1:?usage: gunicorn_profile.sh OUT [--gil]}
GIL=${2:-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
PORT=${PORT:-18801}
cd "$REPO"
HOST=127.0.0.1 PORT=$PORT "$PY" -m gunicorn -c app/deploy/gunicorn_conf.py "app:create_app()" > "$OUT.gunicorn.log" 2>&1 &
MASTER=$!
trap 'kill -TERM $MASTER 2>/dev/null || true' EXIT
sleep 4
LUA=$(mktemp --suffix=.lua)
cat > "$LUA" <<LUA
local f = assert(io.open("$REPO/bench/payloads/canvas_7_chromium.png", "rb"))
wrk.body = f:read("*a"); f:close(); wrk.method = "POST"; wrk.headers["Content-Type"] = "image/png"
LUA
wrk -t2 -c16 -d14s -s "$LUA" "http://127.0.0.1:$PORT/predict" > "$OUT.wrk.txt" &
WRK=$!
sleep 2
for W in $(cat /proc/$MASTER/task/$MASTER/children); do
  "$(dirname "$PY")/py-spy" record -p "$W" -d 10 -r 250 --format raw -o "$OUT.$W.txt" --nonblocking $GIL >/dev/null 2>&1 &
done
wait $WRK
sleep 1
rm -f "$LUA"
grep -E "Requests/sec|Latency" "$OUT.wrk.txt"
