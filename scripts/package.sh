#!/usr/bin/env bash
# Builds the Debian package of nod-server (docs/operations.md): installs
# what is missing, builds the optimised nod-server in build/ and runs cpack.
# Prints only the path of build/nod-server_<version>_amd64.deb on stdout,
# so `apt install "$(scripts/package.sh)"` works; the rest goes to stderr.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

exec 3>&1 1>&2
build_dir="$root_dir/build"
install_packages
configure_build "$build_dir"
# Only the server: the package holds nothing else, and the tests take long.
cmake --build "$build_dir" --target nod-server
cpack --config "$build_dir/CPackConfig.cmake" -B "$build_dir"
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' \
  "$build_dir/CPackConfig.cmake")
deb="$build_dir/nod-server_${version}_amd64.deb"
[ -f "$deb" ] || { echo "cpack made no $deb" >&2; exit 1; }
echo "$deb" >&3
