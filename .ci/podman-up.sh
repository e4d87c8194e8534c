#!/usr/bin/env bash
# Make podman's Docker-compatible API answer on this machine, with the offline test images in it,
# so the docker-executor contract tests also run against podman (tests/targets.py, RUNNER_PODMAN_HOST).
# Idempotent: installs only what is missing, starts the service only when it does not answer,
# loads only images podman does not have. Needs a Docker engine with the test images first
# (.ci/docker-up.sh, .ci/build-test-images.sh): podman gets them with `docker save | podman load`.
set -euo pipefail

SOCK=/run/podman/podman.sock
CONF=/etc/containers/containers.conf
IMAGES=(runner-test/busybox:latest runner-test/debian:bookworm)
export DEBIAN_FRONTEND=noninteractive

answers() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

missing=()
for pkg in podman catatonit curl; do
    installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || apt-get install -y "${missing[@]}"
fi

# Root inside a restricted container: raising RLIMIT_NOFILE is refused, and podman's default
# ulimits would make every container fail to start. Empty list: containers inherit the limits.
if ! grep -qs '^default_ulimits *= *\[\]' "$CONF"; then
    mkdir -p "$(dirname "$CONF")"
    if grep -qs '^\[containers\]' "$CONF"; then
        sed -i '/^\[containers\]/a default_ulimits = []' "$CONF"
    else
        printf '[containers]\ndefault_ulimits = []\n' >>"$CONF"
    fi
fi

if ! answers; then
    mkdir -p "$(dirname "$SOCK")"
    # setsid: the service must outlive the shell (and the CI step) that started it.
    setsid podman system service --time=0 "unix://$SOCK" >/var/log/podman-service.log 2>&1 </dev/null &
    for _ in $(seq 60); do
        answers && break
        sleep 1
    done
    if ! answers; then
        echo "podman-up: the podman service did not answer within 60 s:" >&2
        tail -n 30 /var/log/podman-service.log >&2 || true
        exit 1
    fi
fi

for image in "${IMAGES[@]}"; do
    podman image exists "$image" && continue
    # podman load keeps the name Docker gave the image (localhost/ is only added to bare names).
    docker save "$image" | podman load -q >/dev/null
done

echo "podman answers at unix://$SOCK (tests: RUNNER_PODMAN_HOST=unix://$SOCK)"
