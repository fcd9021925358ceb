#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
#   scripts/test.sh          optimised build in build/, then a few seconds
#                            of each fuzz target (scripts/fuzz.sh, build-fuzz/)
#   scripts/test.sh --asan   AddressSanitizer + UBSan build in build-asan/
# Extra arguments after the mode go to ctest, e.g. -R journal.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_dir="$root_dir/build"
cmake_args=()
fuzz=1
if [ "${1:-}" = "--asan" ]; then
  shift
  fuzz=0
  build_dir="$root_dir/build-asan"
  cmake_args=(-DNOD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
fi

install_packages
configure_build "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir"
# npm packages from their lockfiles, when missing or older than them: the
# browser and schema tests' (playwright-core, ws, ajv) and the TypeScript
# client's (ws, the MCP SDK; typescript to check its types).
for npm_dir in "$root_dir/tests/browser" "$root_dir/clients/typescript"; do
  if [ ! -d "$npm_dir/node_modules" ] \
     || [ "$npm_dir/package-lock.json" -nt "$npm_dir/node_modules" ]; then
    echo "==> installing the npm packages of ${npm_dir#"$root_dir"/}"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error)
    touch "$npm_dir/node_modules"
  fi
done
(cd "$build_dir" && ctest --output-on-failure --timeout 300 -j "$(nproc)" "$@")
# The fuzz targets, briefly: their seeds and what earlier runs found must
# still pass (a filtered run, `scripts/test.sh -R x`, skips them).
if [ "$fuzz" = 1 ] && [ $# -eq 0 ]; then
  "$root_dir/scripts/fuzz.sh" all 3
fi
