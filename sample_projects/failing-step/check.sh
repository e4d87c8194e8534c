#!/bin/sh
echo "checking formatting"
echo "src/main.c:12: trailing whitespace" >&2
exit 3
