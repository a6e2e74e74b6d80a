#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser with afl-fuzz and SharpFuzz.
#   tests/fuzz/run.sh <target> <seconds>    one campaign (targets: tests/fuzz/run.sh list)
#   tests/fuzz/run.sh triage <target>       replay a finished campaign's crashes and hangs, one line each
#   tests/fuzz/run.sh stats                 one Markdown table row per finished campaign in tests/fuzz/out
# Installs afl++ when missing (apt), publishes tests/fuzz/Fuzzer, instruments the engine (TrainableTokens.Core.dll)
# and YamlDotNet with the sharpfuzz local tool, then fuzzes from tests/fuzz/seeds/<target> into tests/fuzz/out/<target>.
# Run campaigns one at a time: each keeps one core busy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
publish="$here/bin/publish"
targets="safetensors-header config-json adapter-config tokenizer-json tokenizer-config run-yaml dataset-jsonl"

usage() { echo "usage: $0 <target> <seconds> | triage <target> | stats | list   (targets: $targets)" >&2; exit 2; }
known() { [[ " $targets " == *" $1 "* ]] || { echo "unknown target '$1'" >&2; usage; }; }

build() {
  cd "$root"
  dotnet tool restore >/dev/null
  # A fresh folder each time: sharpfuzz refuses an assembly it already instrumented.
  rm -rf "$publish"
  dotnet publish tests/fuzz/Fuzzer/TrainableTokens.Fuzz.csproj -c Release -o "$publish" -nologo -v quiet
  for dll in TrainableTokens.Core.dll YamlDotNet.dll; do dotnet tool run sharpfuzz "$publish/$dll"; done
}

triage() {
  local out="$here/out/$1/default" files=()
  shopt -s nullglob
  files=("$out"/crashes/id:* "$out"/hangs/id:*)
  if ((${#files[@]} == 0)); then echo "$1: no crashes or hangs saved"; return 0; fi
  for f in "${files[@]}"; do
    # A hang or a process crash prints nothing within the limit: say so instead of waiting.
    rc=0
    timeout 20 dotnet "$publish/TrainableTokens.Fuzz.dll" replay "$1" "$f" 2>&1 | grep -v '^   at ' || true
    rc=${PIPESTATUS[0]}
    ((rc <= 1)) || echo "HANG-OR-CRASH (exit $rc) $f"
  done
}

stats() {
  echo "| target | run time (s) | executions | execs/s | corpus | edges | bitmap | crashes | hangs |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for t in $targets; do
    local f="$here/out/$t/default/fuzzer_stats"
    [[ -f "$f" ]] || continue
    v() { awk -F': *' -v k="$1" '$1 ~ "^"k" *$" {print $2}' "$f"; }
    echo "| $t | $(v run_time) | $(v execs_done) | $(v execs_per_sec) | $(v corpus_count) | $(v edges_found) | $(v bitmap_cvg) | $(v saved_crashes) | $(v saved_hangs) |"
  done
}

case "${1:-}" in
  stats) stats; exit 0 ;;
  list) echo "$targets" | tr ' ' '\n'; exit 0 ;;
  triage) [[ $# == 2 ]] || usage; known "$2"; [[ -f "$publish/TrainableTokens.Fuzz.dll" ]] || build; triage "$2"; exit 0 ;;
esac
[[ $# == 2 && "$2" =~ ^[0-9]+$ ]] || usage
target="$1" seconds="$2"
known "$target"

if ! command -v afl-fuzz >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++
fi
build

dict="$here/dictionaries/json.dict"
[[ "$target" == run-yaml ]] && dict="$here/dictionaries/yaml.dict"
mkdir -p "$here/out"
rm -rf "${here:?}/out/$target"
# dotnet is not instrumented itself (SharpFuzz instruments the managed code), so afl-fuzz's binary check is skipped;
# core dumps and CPU-frequency settings are the machine's, not ours to change. -t: the .NET start-up is slow, but a
# parser that needs seconds for a few KB has hung.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export DOTNET_TieredPGO=0 DOTNET_CLI_TELEMETRY_OPTOUT=1
afl-fuzz -V "$seconds" -i "$here/seeds/$target" -o "$here/out/$target" -x "$dict" -t 5000 -m none \
  -- dotnet "$publish/TrainableTokens.Fuzz.dll" fuzz "$target" || true

stats="$here/out/$target/default/fuzzer_stats"
if [[ -f "$stats" ]]; then
  grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|bitmap_cvg|edges_found|total_edges|saved_crashes|saved_hangs) ' "$stats"
fi
triage "$target"
