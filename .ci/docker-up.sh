#!/usr/bin/env bash
# Make a Docker engine answer on this machine: install it from Debian if needed
# and start it detached, so it outlives the shell (and the CI step) that started it.
# A dockerd that is already starting is waited for, never started twice.
set -euo pipefail

answers() { docker info >/dev/null 2>&1; }

wait_for_engine() {  # wait_for_engine <seconds>
    for _ in $(seq "$1"); do
        answers && return 0
        sleep 1
    done
    return 1
}

if answers; then
    exit 0
fi

log=/var/log/dockerd.log
if pgrep -x dockerd >/dev/null 2>&1; then
    wait_for_engine 60 && exit 0
    echo "docker-up: a dockerd runs but does not answer within 60 s; last lines of $log:" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    # Only the client ships with the machine; the engine comes from Debian (no other registry is reachable).
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null 2>&1 || apt-get install -y docker.io  # rerun shows why
fi

# setsid: the daemon must not die with our session or receive its signals.
setsid dockerd >"$log" 2>&1 < /dev/null &

if wait_for_engine 60; then
    exit 0
fi
echo "docker-up: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 30 "$log" >&2
exit 1
