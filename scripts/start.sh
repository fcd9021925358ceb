#!/usr/bin/env bash
# Installs what is missing, builds an optimised nod-server and runs it with
# its defaults (127.0.0.1:8000, data in ./data). Extra arguments go to
# nod-server, e.g. scripts/start.sh --listen=0.0.0.0:8000
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_packages
configure_build "$root_dir/build"
cmake --build "$root_dir/build" --target nod-server
exec "$root_dir/build/app/nod-server" "$@"
