#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/) and runs
# one or all of them.
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   scripts/fuzz.sh all SECONDS          every target, SECONDS each
#   scripts/fuzz.sh json 0 -runs=10000000
# SECONDS 0 means no time limit (stop with -runs=N). Targets: json event
# cron address_policy config http ws_frame markdown. Seeds are in
# fuzz/corpus/TARGET; what a run learns goes to build-fuzz/corpus/TARGET, and
# an input that fails is saved in build-fuzz/findings/ and the run exits 1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

targets=(json event cron address_policy config http ws_frame markdown)
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]" >&2
  echo "targets: ${targets[*]}" >&2
  exit 2
fi
target=$1
seconds=$2
shift 2

fuzz_dir="$root_dir/build-fuzz"
if [ ! -f "$fuzz_dir/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root_dir" -B "$fuzz_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNOD_FUZZ=ON
fi

run_one() {
  local name=$1
  shift
  local corpus="$fuzz_dir/corpus/$name"
  local findings="$fuzz_dir/findings/$name/"
  mkdir -p "$corpus" "$findings"
  echo "==> fuzzing $name for ${seconds}s $*"
  if [ "$name" = markdown ]; then
    node "$root_dir/fuzz/markdown_fuzz.mjs" --seconds="$seconds" \
      --corpus="$root_dir/fuzz/corpus/markdown" --findings="$findings" "$@"
    return
  fi
  cmake --build "$fuzz_dir" --target "${name}_fuzz"
  local flags=(-max_len=16384 -timeout=10 -rss_limit_mb=2048
               -print_final_stats=1 "-artifact_prefix=$findings")
  [ "$seconds" != 0 ] && flags+=("-max_total_time=$seconds")
  [ -f "$root_dir/fuzz/dict/$name.dict" ] \
    && flags+=("-dict=$root_dir/fuzz/dict/$name.dict")
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root_dir/fuzz/ubsan.supp" \
    "$fuzz_dir/fuzz/${name}_fuzz" "${flags[@]}" "$@" \
    "$corpus" "$root_dir/fuzz/corpus/$name"
}

if [ "$target" = all ]; then
  cmake --build "$fuzz_dir"
  for t in "${targets[@]}"; do
    run_one "$t" "$@"
  done
else
  case " ${targets[*]} " in
    *" $target "*) run_one "$target" "$@" ;;
    *) echo "unknown target $target (targets: ${targets[*]})" >&2; exit 2 ;;
  esac
fi
