#!/usr/bin/env python3
"""Exit 0 when FILE is strict JSON (RFC 8259: no NaN, Infinity or -Infinity),
else print why on one line and exit 1. usage: strict_json.py FILE"""
import json
import sys


def refuse(constant):
    raise ValueError("non-JSON constant %s" % constant)


try:
    with open(sys.argv[1]) as f:
        json.load(f, parse_constant=refuse)
except ValueError as e:  # JSONDecodeError is a ValueError too
    print("%s: not strict JSON: %s" % (sys.argv[1], e))
    sys.exit(1)
