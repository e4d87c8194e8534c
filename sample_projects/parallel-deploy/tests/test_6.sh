#!/bin/sh
echo "test 6 ok"
