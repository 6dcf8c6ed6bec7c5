#!/usr/bin/env bash
# Load on `digits serve`, side by side with the same network in FastAPI + uvicorn + PyTorch
# (Benchmarks/serve_pytorch.py, 2 worker processes): wrk (Debian) sends POST /v1/classify with a
# PNG (data/samples/0-7-gray8.png, a 239×239 gray drawing of a 7) for SECONDS at 1, 8 and 64 connections against each server in turn, and prints
# requests per second, p50 and p99 latency, errors (socket errors and non-2xx answers) and each
# server's resident memory before and after. Then Benchmarks/serve-replicas.sh runs two replicas
# behind nginx.
# Usage: Benchmarks/serve-load.sh [SECONDS]   (default 20)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-20}"
command -v wrk >/dev/null || { echo "serve-load: needs wrk (apt-get install wrk)" >&2; exit 1; }
pytorch_venv_packages="fastapi:fastapi uvicorn:uvicorn PIL:pillow safetensors:safetensors numpy:numpy"
source "$root/Benchmarks/pytorch-venv.sh"
swift build -c release --product digits >&2
work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/png"
wrk.body = io.open("$root/data/samples/0-7-gray8.png", "rb"):read("*a")
LUA

wait_for() {  # url
    for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
    echo "serve-load: $1 did not come up" >&2; return 1
}
rss() {  # pid(s) → MB, summed over the process and its children
    local total=0
    for pid in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
        total=$((total + $(ps -o rss= -p "$pid" 2>/dev/null || echo 0)))
    done
    echo "$((total / 1024))"
}
load() {  # name url pid
    local name="$1" url="$2" pid="$3"
    local before
    before=$(rss "$pid")
    for connections in 1 8 64; do
        wrk -t "$((connections < 2 ? 1 : 2))" -c "$connections" -d "${seconds}s" --latency -s "$work/post.lua" "$url/v1/classify" > "$work/wrk.txt" 2>&1
        python3 - "$work/wrk.txt" "$name" "$connections" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def value(pattern, default="0"):
    match = re.search(pattern, text)
    return match.group(1) if match else default
def ms(text):
    match = re.match(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        sys.exit(f"serve-load: cannot read wrk's output:\n{open(sys.argv[1]).read()}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
rps = float(value(r"Requests/sec:\s+([0-9.]+)"))
# Anchored at line starts: "67.50%" in the Req/Sec line also contains "50%".
p50, p99 = ms(value(r"(?m)^\s+50%\s+(\S+)", "0ms")), ms(value(r"(?m)^\s+99%\s+(\S+)", "0ms"))
socket = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", value(r"Socket errors: (.*)", "")))
non2xx = int(value(r"Non-2xx or 3xx responses: (\d+)"))
print(f"{sys.argv[2]:<28} {int(sys.argv[3]):>4} connections: {rps:>9.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  errors {socket + non2xx}")
PY
    done
    echo "$name memory: $before MB before, $(rss "$pid") MB after"
}

echo "== $seconds s per load level; a 239×239 PNG; $(nproc) cores ($(lscpu | sed -n 's/Model name: *//p' | head -1))"
.build/release/digits serve --port 18480 --model data/models/digits.safetensors 2>"$work/digits.log" &
pids+=($!)
wait_for http://127.0.0.1:18480/healthz
load "Backprop (digits serve)" http://127.0.0.1:18480 "${pids[-1]}"
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

MODEL="$root/data/models/digits.safetensors" "$venv/bin/python" -m uvicorn --app-dir Benchmarks serve_pytorch:app \
    --port 18481 --workers 2 --log-level warning 2>"$work/python.log" &
pids+=($!)
wait_for http://127.0.0.1:18481/docs
load "FastAPI+uvicorn+PyTorch" http://127.0.0.1:18481 "${pids[-1]}"
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

Benchmarks/serve-replicas.sh
