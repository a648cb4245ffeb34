"""The tally shared by the client scripts next to it: `check` counts what passed and exits
non-zero on the first mismatch; `report` prints the count at the end."""

import sys

passed = 0


def check(condition, message):
    global passed
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    passed += 1


def report(client):
    print("%s: %d checks passed" % (client, passed))
