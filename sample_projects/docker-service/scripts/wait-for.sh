#!/bin/sh
# wait-for.sh URL SECONDS: poll until URL answers, as CircleCI's docs advise for services
# (a service container may still be starting when the first step runs).
url=$1
tries=$(($2 * 10))
i=0
until wget -q -O /dev/null "$url" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -ge "$tries" ]; then
    echo "no answer from $url after $2 s" >&2
    exit 1
  fi
  sleep 0.1
done
echo "$url is up"
