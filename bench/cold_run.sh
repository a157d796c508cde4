#!/usr/bin/env bash
# Time `make run` on a fresh clone until the first page answers. Usage: bench/cold_run.sh [PORT]
set -euo pipefail
port=${1:-8765}
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
git clone -q "$src" "$dir/icdsite"
cd "$dir/icdsite"
start=$(date +%s.%N)
setsid make run PORT="$port" >"$dir/run.log" 2>&1 &
pid=$!
until curl -fs "http://127.0.0.1:$port/" >/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then echo "make run failed:"; tail -20 "$dir/run.log"; exit 1; fi
  sleep 0.5
done
end=$(date +%s.%N)
printf 'cold make run until the first page answers: %.1f s\n' "$(echo "$end - $start" | bc)"
kill -- -"$pid" 2>/dev/null || kill "$pid"  # setsid: make run leads its own process group
make db-stop >/dev/null 2>&1 || true
rm -rf "$dir"
