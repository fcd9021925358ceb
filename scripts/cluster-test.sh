#!/usr/bin/env bash
# Cluster mode's tests alone (docs/cluster.md): each starts three
# nats-servers and three nod-servers on loopback. scripts/test.sh runs them
# too, with everything else. Extra arguments go to ctest, e.g. -R cut_off.
exec "$(dirname "${BASH_SOURCE[0]}")/test.sh" -L cluster "$@"
