#!/usr/bin/env bash
# Builds and runs every fuzz target for a while each, one after another (one fuzzer at a
# time: no -jobs/-workers), and prints per target
#
#   TARGET: N execs, M crashes
#
# from libFuzzer's final stats. Exits non-zero if any target crashed (or failed to build).
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS per target, default 30; default all targets
#
# Environment: SANITIZER (default `address`; `none` if ASan does not link here: the script
# falls back to it by itself when the ASan build fails), FUZZ_ARGS (extra libFuzzer flags).
# The toolchain is stable Rust: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
#
# New corpus entries go to fuzz/corpus-out/<target>/ (the committed seeds in
# fuzz/corpus/<target>/ are only read), crashes to fuzz/artifacts/<target>/, logs to
# fuzz/logs/<target>.log: all three ignored by git.
set -uo pipefail

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

secs="${1:-30}"
shift $(( $# > 0 ? 1 : 0 ))
if ! [[ "$secs" =~ ^[0-9]+$ ]] || (( secs < 1 )); then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi
targets=("$@")
if (( ${#targets[@]} == 0 )); then
    mapfile -t targets < <(cargo fuzz list)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

sanitizer="${SANITIZER:-address}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
mkdir -p logs
# One build for every target, up front; the runs below use these binaries as built (a
# source change meanwhile does not rebuild or disturb them).
build() {
    : >logs/build.log
    for t in "${targets[@]}"; do
        cargo fuzz build --sanitizer "$1" "$t" >>logs/build.log 2>&1 || return 1
    done
}
echo "building ${#targets[@]} targets (sanitizer: $sanitizer)"
if ! build "$sanitizer"; then
    if [[ "$sanitizer" == address && -z "${SANITIZER:-}" ]] && grep -qE 'linking with|undefined (reference|symbol)' logs/build.log && ! grep -q '^error\[E' logs/build.log; then
        echo "the AddressSanitizer build did not link (fuzz/logs/build.log); falling back to --sanitizer none" >&2
        sanitizer=none
        build none || { tail -30 logs/build.log >&2; exit 2; }
    else
        echo "build failed:" >&2
        tail -30 logs/build.log >&2
        exit 2
    fi
fi
bin="target/$triple/release"
# What `cargo fuzz run` sets for ASan builds.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"

failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "corpus-out/$t" "artifacts/$t"
    log="logs/$t.log"
    before=$(find "artifacts/$t" -type f | sort)
    # The first corpus directory receives what the fuzzer finds; the seeds are only read.
    # shellcheck disable=SC2086
    "$bin/$t" "corpus-out/$t" "corpus/$t" \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="artifacts/$t/" ${FUZZ_ARGS:-} >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    if [[ -z "$execs" ]]; then
        # No final stats (killed hard): the last progress line's count.
        execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    fi
    new=$(comm -13 <(echo "$before") <(find "artifacts/$t" -type f | sort) | grep -cE '/(crash|leak|timeout|oom)-' || true)
    crashes=$new
    if (( status != 0 && crashes == 0 )); then
        crashes=1 # it failed without writing an artifact (see the log)
    fi
    echo "$t: ${execs:-0} execs, $crashes crashes"
    if (( crashes > 0 )); then
        failed=1
        comm -13 <(echo "$before") <(find "artifacts/$t" -type f | sort) | sed 's/^/    artifact: fuzz\//'
        echo "    log: fuzz/$log" >&2
    fi
done
exit "$failed"
