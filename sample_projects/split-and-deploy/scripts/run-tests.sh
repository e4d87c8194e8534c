#!/bin/sh
# A tiny test runner: each test file is a shell script that declares its duration; the
# results go to test-results/junit.xml with each test's file and time, which is what
# `circleci tests split --split-by=timings` learns from.
set -eu
mkdir -p test-results
out=test-results/junit.xml
count=0
cases=""
for test in "$@"; do
  seconds=$(sed -n 's/^# duration: //p' "$test")
  sh "$test"
  name=$(basename "$test" .sh)
  cases="$cases<testcase classname=\"tests\" name=\"$name\" file=\"$test\" time=\"$seconds\"/>"
  count=$((count + 1))
done
printf '<?xml version="1.0"?>\n<testsuite name="shell" tests="%s">%s</testsuite>\n' \
  "$count" "$cases" > "$out"
echo "$count test(s) passed"
