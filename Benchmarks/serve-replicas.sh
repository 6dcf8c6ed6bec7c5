#!/usr/bin/env bash
# Two `digits serve` replicas on loopback behind nginx (Debian's package), as README.md's
# "Serving" section describes: nginx balances over the replicas that answer /readyz. Open-source
# nginx only checks upstreams passively, so a small loop here plays the active health checker:
# every half second it asks each replica's /readyz and rewrites nginx's upstream list (then
# `nginx -s reload`) when the set of ready replicas changes. The script sends 200 requests through
# nginx and shows that both replicas served them (their own /metrics), stops one replica with
# SIGTERM, and shows that the next 100 requests all succeed on the other.
# Usage: Benchmarks/serve-replicas.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v nginx >/dev/null || { echo "serve-replicas: needs nginx (apt-get install nginx)" >&2; exit 1; }
swift build -c release --product digits >&2
work="$(mktemp -d)"
pids=()
cleanup() {
    [ -f "$work/nginx.pid" ] && nginx -p "$work" -c "$work/nginx.conf" -s quit 2>/dev/null || true
    kill "${pids[@]}" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ports=(18581 18582)
for port in "${ports[@]}"; do
    .build/release/digits serve --port "$port" --model data/models/digits.safetensors 2>"$work/replica-$port.log" &
    pids+=($!)
done
for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
done

write_upstreams() {  # the ready replicas → upstream.conf; prints them
    local ready=()
    for port in "${ports[@]}"; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && ready+=("$port")
    done
    { for port in "${ready[@]}"; do echo "server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"; done
      [ ${#ready[@]} -gt 0 ] || echo "server 127.0.0.1:9 down;"; } > "$work/upstream.conf.new"
    echo "${ready[*]}"
}
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<NGINX
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    upstream digits { include $work/upstream.conf; }
    server {
        listen 127.0.0.1:18580;
        client_max_body_size 16m;
        location / {
            proxy_pass http://digits;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
NGINX
write_upstreams > /dev/null
mv "$work/upstream.conf.new" "$work/upstream.conf"
nginx -p "$work" -c "$work/nginx.conf"
echo "nginx on 127.0.0.1:18580 over replicas $(grep -o '127.0.0.1:[0-9]*' "$work/upstream.conf" | tr '\n' ' ')"

# The health checker.
(
    while true; do
        write_upstreams > /dev/null
        if ! cmp -s "$work/upstream.conf.new" "$work/upstream.conf"; then
            mv "$work/upstream.conf.new" "$work/upstream.conf"
            nginx -p "$work" -c "$work/nginx.conf" -s reload
        fi
        sleep 0.5
    done
) &
pids+=($!)

classify() {  # n → how many answered 200 through nginx
    local ok=0
    for _ in $(seq 1 "$1"); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: image/png' \
               --data-binary @data/samples/0-7-gray8.png http://127.0.0.1:18580/v1/classify)
        [ "$code" = 200 ] && ok=$((ok + 1))
    done
    echo "$ok"
}
served() {  # port → classify requests it answered
    curl -s "http://127.0.0.1:$1/metrics" | sed -n 's/^backprop_http_requests_total{route="\/v1\/classify",status="200"} //p'
}
echo "200 requests through nginx: $(classify 200) answered 200; replica ${ports[0]} served $(served "${ports[0]}"), replica ${ports[1]} served $(served "${ports[1]}")"
kill -TERM "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
sleep 1.5
echo "replica ${ports[1]} stopped (SIGTERM); nginx's upstreams now: $(grep -o '127.0.0.1:[0-9]*' "$work/upstream.conf" | tr '\n' ' ')"
echo "100 more requests through nginx: $(classify 100) answered 200; replica ${ports[0]} has now served $(served "${ports[0]}")"
