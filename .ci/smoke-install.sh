#!/usr/bin/env bash
# A user's install, checked: build runner's wheel, install it with the locked runtime
# dependencies into a fresh virtual environment (no dev extras), run the README's first command
# (a sample project on the machine executor) and check that `runner serve` starts and answers.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
server=
cleanup() {
    [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

python -m pip wheel --quiet --no-deps --no-build-isolation -w "$tmp/dist" "$repo"
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --require-hashes --no-deps -r "$repo/requirements.txt"
"$tmp/venv/bin/pip" install --quiet --no-deps "$tmp"/dist/*.whl
"$tmp/venv/bin/pip" check

export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
(cd "$tmp" && "$tmp/venv/bin/runner" run -C "$repo/sample_projects/multi-job" >"$tmp/run.log" 2>&1) \
    || { cat "$tmp/run.log" >&2; echo "smoke-install: the sample project failed" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=smoke-$RANDOM-$RANDOM-$RANDOM
"$tmp/venv/bin/runner" serve -C "$repo/sample_projects/multi-job" --port "$port" --token "$token" \
    >"$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    if curl -fsS -u "$token:" "http://127.0.0.1:$port/openapi.json" -o "$tmp/openapi.json" 2>/dev/null; then
        echo "smoke-install: the wheel installs, runs a sample project, and \`runner serve\` answers"
        exit 0
    fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
done
cat "$tmp/serve.log" >&2
echo "smoke-install: runner serve did not answer" >&2
exit 1
