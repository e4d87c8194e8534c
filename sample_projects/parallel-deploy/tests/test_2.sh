#!/bin/sh
echo "test 2 ok"
