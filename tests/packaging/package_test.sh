#!/usr/bin/env bash
# The Debian package (cmake/packaging.cmake, packaging/): built by cpack from
# this build, then checked as installed would see it: its files and their
# modes, control fields, conffiles and maintainer scripts, the unit by
# systemd-analyze, and the packaged binary started the way the unit starts
# it, with the packaged config file.
#   package_test.sh CPACK BUILD_DIR VERSION
set -euo pipefail

cpack=$1
build_dir=$2
version=$3

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# cpack into a temporary directory, from this build's CPack config: it only
# installs what is already built (the Ninja generator has no preinstall
# step), so it neither rebuilds nor runs the tests again.
echo "==> cpack"
if ! "$cpack" --config "$build_dir/CPackConfig.cmake" -B "$tmp/out" \
     >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  fail "cpack failed"
fi
deb="$tmp/out/nod-server_${version}_amd64.deb"
[ -f "$deb" ] || fail "no $(basename "$deb") in: $(ls "$tmp/out")"

echo "==> contents"
# Exactly these files (directories aside): no tests, benchmarks or
# libraries. The config file is not world-readable: it may hold secrets.
expected="-rw-r--r-- root/root ./lib/systemd/system/nod-server.service
-rw-r----- root/root ./etc/nod/nod-server.conf
-rwxr-xr-x root/root ./usr/bin/nod-server"
actual=$(dpkg-deb --contents "$deb" | awk '$1 !~ /^d/ { print $1, $2, $6 }' | sort)
if [ "$actual" != "$(sort <<<"$expected")" ]; then
  echo "expected:" >&2; sort <<<"$expected" >&2
  echo "actual:" >&2; echo "$actual" >&2
  fail "the package's files differ"
fi

echo "==> control fields"
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = nod-server ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = amd64 ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Section)" ] || fail "no Section"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
# adduser for postinst; libc6 and librocksdb show that dpkg-shlibdeps ran.
for dep in adduser libc6 librocksdb; do
  grep -qE "(^|, )$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done

echo "==> conffiles and maintainer scripts"
dpkg-deb --control "$deb" "$tmp/control"
grep -qx /etc/nod/nod-server.conf "$tmp/control/conffiles" \
  || fail "conffiles does not name /etc/nod/nod-server.conf"
for script in postinst prerm postrm; do
  f="$tmp/control/$script"
  [ -x "$f" ] || fail "$script missing or not executable"
  [ "$(head -n1 "$f")" = "#!/bin/sh" ] || fail "$script is not a /bin/sh script"
  sh -n "$f" || fail "$script does not parse"
  grep -qx "set -e" "$f" || fail "$script lacks set -e"
done
grep -q "getent passwd nod" "$tmp/control/postinst" \
  || fail "postinst does not create the user nod"

dpkg-deb --extract "$deb" "$tmp/root"
unit="$tmp/root/lib/systemd/system/nod-server.service"

echo "==> the unit"
for line in User=nod StateDirectory=nod ProtectSystem=strict \
            NoNewPrivileges=yes Restart=on-failure KillSignal=SIGTERM \
            'ExecReload=/bin/kill -HUP $MAINPID' \
            'ExecStart=/usr/bin/nod-server --config /etc/nod/nod-server.conf --data-dir /var/lib/nod'; do
  grep -qxF "$line" "$unit" || fail "the unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
  # verify wants ExecStart's binary on this machine, where the package is not
  # installed; --root=<extracted package> does not help either (it then
  # looks for sysinit.target and the rest of systemd in that root). So:
  # a copy of the unit whose ExecStart is the extracted binary, checked
  # against this machine's systemd units. It needs no running systemd.
  # Unknown keys are only warnings (exit status 0): any output fails.
  mkdir "$tmp/unit"
  sed "s#^ExecStart=/usr/bin/nod-server#ExecStart=$tmp/root/usr/bin/nod-server#" \
    "$unit" >"$tmp/unit/nod-server.service"
  if ! systemd-analyze verify "$tmp/unit/nod-server.service" \
       >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
    cat "$tmp/verify.log" >&2
    fail "systemd-analyze verify"
  fi
else
  echo "(no systemd-analyze: the unit is not verified)"
fi

echo "==> the packaged binary"
binary="$tmp/root/usr/bin/nod-server"
[ "$("$binary" --version)" = "nod-server $version" ] \
  || fail "--version says: $("$binary" --version)"

# The unit's own command line, its paths moved into the extracted package
# and a temporary data directory, on a free port (a later flag wins).
read -ra exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
cmd=()
for word in "${exec_start[@]}"; do
  case "$word" in
    /usr/* | /etc/*) cmd+=("$tmp/root$word") ;;
    /var/lib/nod) cmd+=("$tmp/data") ;;
    *) cmd+=("$word") ;;
  esac
done
cmd+=(--listen=127.0.0.1:0)
# With the unit's LimitNOFILE, max-connections keeps its default; raising
# the limit that far needs a hard limit at least as high.
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
limit_ok=0
(ulimit -n "$nofile") 2>/dev/null && limit_ok=1
log="$tmp/server.log"
if [ "$limit_ok" = 1 ]; then
  (ulimit -n "$nofile" && exec "${cmd[@]}") >"$log" 2>&1 &
else
  echo "(cannot raise the open-file limit to $nofile here: not checked)"
  "${cmd[@]}" >"$log" 2>&1 &
fi
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.* listening on http:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; fail "the server exited"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; fail "the server did not start"; }
[ "$(curl -fsS "http://127.0.0.1:$port/healthz")" = '{"status":"ok"}' ] \
  || fail "/healthz"
# docs/operations.md tells admins to grep the journal for this line.
grep -q "created user admin with password " "$log" \
  || { cat "$log" >&2; fail "no 'created user admin with password' in the log"; }
if [ "$limit_ok" = 1 ]; then
  grep -q "connections: at most 10000," "$log" \
    || { cat "$log" >&2; fail "LimitNOFILE=$nofile lowers max-connections"; }
fi
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" = 0 ] || { cat "$log" >&2; fail "exit status $status after SIGTERM"; }
grep -q "journal closed, bye" "$log" || { cat "$log" >&2; fail "no orderly stop"; }

echo "OK: $(basename "$deb")"
