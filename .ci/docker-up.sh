#!/usr/bin/env bash
# Make a Docker engine answer on this machine: install it from Debian if needed
# and start it detached, so it outlives the shell (and the CI step) that started it.
set -euo pipefail

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    # Only the client ships with the machine; the engine comes from Debian (no other registry is reachable).
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null 2>&1 || apt-get install -y docker.io  # rerun shows why
fi

log=/var/log/dockerd.log
# setsid: the daemon must not die with our session or receive its signals.
setsid dockerd >"$log" 2>&1 < /dev/null &

for _ in $(seq 60); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done

echo "docker-up: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 30 "$log" >&2
exit 1
