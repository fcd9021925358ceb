# Shared by scripts/start.sh, scripts/test.sh and scripts/package.sh:
# install missing Debian packages, configure and build. Sourced, not run.

set -euo pipefail

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Every Debian package the build, the tests and the benchmarks need.
packages=(
  ca-certificates cmake g++ ninja-build ccache pkg-config
  libcaf-dev libboost-dev rapidjson-dev librocksdb-dev libspdlog-dev
  libgtest-dev libgmock-dev libssl-dev libsodium-dev
  # Cluster mode: the NATS client library, and NATS servers for its tests.
  libnats-dev nats-server
  # The server's allocator (docs/benchmarks.md: cross-thread frees).
  libjemalloc-dev
  # zlib: the web app tests inflate the gzip responses.
  zlib1g-dev
  # Task schedules in IANA time zones (the system's zoneinfo).
  libhowardhinnant-date-dev tzdata
  # The browser app: Node runs its unit tests, and Playwright drives
  # Debian's Chromium in the end-to-end tests. (npm: see below.)
  nodejs chromium
  # The fuzz targets (scripts/fuzz.sh): clang with libFuzzer's runtime.
  clang libclang-rt-14-dev
  wrk hyperfine
  # The README's examples: curl and jq, and the agent script's websockets;
  # the Python client (clients/python) also needs requests.
  curl jq python3-websockets python3-requests
  # The email channel's tests: a local SMTP server, and a throwaway
  # certificate for its STARTTLS.
  python3-aiosmtpd openssl
  # The Debian package (scripts/package.sh): cpack's dependency list comes
  # from dpkg-shlibdeps, which needs file; its test verifies the unit with
  # systemd-analyze.
  dpkg-dev file systemd
)

install_packages() {
  local missing=()
  # Debian's nodejs comes without npm; NodeSource's brings its own and
  # conflicts with Debian's npm package. Ask for the package only when the
  # command is missing.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# configure_build <build dir> [cmake args...]: configures once, then lets
# the build tool decide what is stale.
configure_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$root_dir" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
  fi
}
