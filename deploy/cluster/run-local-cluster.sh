#!/usr/bin/env bash
# Starts three `parley serve` nodes on this machine, joined into one NATS
# cluster over loopback routes, waits until each answers /healthz, and stops
# them all on Ctrl-C (or as soon as one of them exits).
#
# Environment (all optional):
#   PARLEY           parley binary to run; default: build ./cmd/parley
#   HTTP_PORT        first node's HTTP port (default 8081; then 8082, 8083)
#   MEDIA_PORT       first node's media port (default 7881; then 7882, 7883)
#   ROUTE_PORT       first node's NATS route port (default 6231; ...)
#   NATS_PORT        first node's NATS client port (default 4231; ...)
#   HEALTH_TIMEOUT   seconds to wait for each node's /healthz (default 30)
set -euo pipefail

readonly NODES=3
http_port=${HTTP_PORT:-8081}
media_port=${MEDIA_PORT:-7881}
route_port=${ROUTE_PORT:-6231}
nats_port=${NATS_PORT:-4231}
health_timeout=${HEALTH_TIMEOUT:-30}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/parley-cluster.XXXXXX")
pids=()

die() {
	echo "run-local-cluster: $*" >&2
	exit 1
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
stop_nodes() {
	trap - EXIT INT TERM
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	echo "stopped; configs, data and logs are in $work_dir"
}
trap stop_nodes EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v curl >/dev/null || die "curl is required"

parley=${PARLEY:-}
if [[ -z "$parley" ]]; then
	echo "building parley into $work_dir"
	(cd "$repo_root" && go build -o "$work_dir/parley" ./cmd/parley)
	parley=$work_dir/parley
fi

# Every node lists every route, itself included: nats-server ignores the
# route to itself, and the cluster forms whichever node starts first.
routes=""
for ((i = 0; i < NODES; i++)); do
	routes+="      - nats-route://127.0.0.1:$((route_port + i))"$'\n'
done

# write_config NODE: writes node NODE's parley config and prints its path.
write_config() {
	local n=$1 i=$(($1 - 1))
	local config=$work_dir/node$n.yaml
	mkdir -p "$work_dir/node$n"
	cat >"$config" <<EOF
data: $work_dir/node$n/data
http: 127.0.0.1:$((http_port + i))
media_port: $((media_port + i))
nats:
  # Nodes on one host share a hostname, the default server name, and
  # nats-server refuses a route between two servers of the same name.
  server_name: node$n
  listen: 127.0.0.1:$((nats_port + i))
  cluster:
    name: parley-local
    listen: 127.0.0.1:$((route_port + i))
    routes:
$routes
EOF
	echo "$config"
}

# wait_healthy NODE PID: polls the node's /healthz until it answers 2xx.
wait_healthy() {
	local n=$1 pid=$2
	local url=http://127.0.0.1:$((http_port + n - 1))/healthz
	local deadline=$((SECONDS + health_timeout))
	until curl -fsS -o /dev/null "$url" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			die "node$n exited during startup; see $work_dir/node$n.log"
		fi
		if ((SECONDS >= deadline)); then
			die "node$n not healthy after ${health_timeout}s at $url; see $work_dir/node$n.log"
		fi
		sleep 0.2
	done
}

# Job control puts each node in its own process group, so Ctrl-C reaches only
# this script, and each node gets exactly one signal: the TERM from stop_nodes.
set -m
for ((n = 1; n <= NODES; n++)); do
	config=$(write_config "$n")
	"$parley" serve --config "$config" >"$work_dir/node$n.log" 2>&1 &
	pids+=("$!")
done

for ((n = 1; n <= NODES; n++)); do
	wait_healthy "$n" "${pids[n - 1]}"
	i=$((n - 1))
	echo "node$n healthy: http://127.0.0.1:$((http_port + i))" \
		"nats://127.0.0.1:$((nats_port + i)) log $work_dir/node$n.log"
done
echo "cluster up; Ctrl-C stops it"

# Returns when any node exits (or on Ctrl-C, through the traps).
status=0
wait -n "${pids[@]}" || status=$?
die "a node exited with status $status; see the logs in $work_dir"
