#!/usr/bin/env bash
# The bad-input corpus of tests/bad: specs, data, weights, command lines and C
# API calls that must each fail with the documented exit status and one clear
# line (never a crash). usage: test_bad.sh NNC SOURCE_DIR [ORACLE_DIR]
exec bash "$2/tests/bad/run.sh" "$1" "$2"
