#!/usr/bin/env bash
# Build the images the docker-executor tests use. No registry is reachable here,
# so everything is built from Debian packages. Skips existing images unless FORCE=1.
set -euo pipefail

cd "$(dirname "$0")/.."
LABEL=com.runner.test-image=true
BUSYBOX=runner-test/busybox:latest
DEBIAN=runner-test/debian:bookworm
DEBIAN_ROOTFS=runner-test/debian:bookworm-rootfs
export DEBIAN_FRONTEND=noninteractive

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

quiet() {  # run a command, showing its (noisy: debconf, needrestart, builder deprecation) output only on failure
    "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }
}

need() {  # need <image>: true when the image must be (re)built
    [[ "${FORCE:-0}" == 1 ]] || ! docker image inspect "$1" >/dev/null 2>&1
}

apt_install() {  # apt_install <package>
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed' && return
    quiet apt-get update && quiet apt-get install -y "$1"
}

# The Debian mirror this machine already uses; read at run time so no host name lands in the repo.
debian_mirror() {
    local uri
    uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
        uri=$(awk '$1 == "deb" && !/security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
            /etc/apt/sources.list)
    fi
    [[ -n "$uri" ]] || { echo "build-test-images: no Debian mirror in the apt sources" >&2; return 1; }
    echo "$uri"
}

build_busybox() {
    # A scratch image has no libc: it needs the static build, not Debian's default busybox.
    apt_install busybox-static
    cp tests/images/busybox/Dockerfile /bin/busybox "$tmp/"
    quiet docker build --label "$LABEL" -t "$BUSYBOX" "$tmp"
}

build_debian() {
    apt_install mmdebstrap
    local mirror
    mirror=$(debian_mirror)
    mmdebstrap --quiet --variant=minbase --include=bash,git,ca-certificates,curl,procps \
        bookworm "$tmp/rootfs.tar" "$mirror"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' \
        --change "LABEL $LABEL" \
        "$tmp/rootfs.tar" "$DEBIAN_ROOTFS" >/dev/null
    rm -f "$tmp/rootfs.tar"
    quiet docker build --label "$LABEL" --build-arg "BASE=$DEBIAN_ROOTFS" -t "$DEBIAN" tests/images/debian
}

for image in "$BUSYBOX" "$DEBIAN"; do
    if ! need "$image"; then
        echo "$image: exists (FORCE=1 rebuilds)"
        continue
    fi
    old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    start=$SECONDS
    case "$image" in
        "$BUSYBOX") build_busybox ;;
        "$DEBIAN") build_debian ;;
    esac
    echo "$image: built in $((SECONDS - start)) s"
    # A rebuild leaves our previous image dangling; drop it (fails harmlessly if a container uses it).
    if [[ -n "$old" && "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]]; then
        docker rmi "$old" >/dev/null 2>&1 || true
    fi
done
