#!/usr/bin/env bash
# The checks that need the GPU machine, as one script that ends inside its time budget and leaves its results in
# $OUT (at most 8 files: summary.txt, device-checks.log, bench.jsonl, details.tgz, and the nvidia-smi/NVML listing):
#   1. tools and versions; the machine's PyTorch libtorch (torch/lib), which the harness loads instead of its own;
#   2. ABI: every symbol of TorchSharp's native wrapper (libLibTorchSharp.so, built for libtorch 2.10.0) must
#      resolve against that libtorch (ldd -r). If not, the wrapper is rebuilt here from TorchSharp's own v0.107.0
#      sources (carried, never in the repository) against the machine's PyTorch headers and libraries;
#   3. our forward passes and a short training run on cuda against the CPU results recorded on the build machine
#      (tests/device/expected), and on the machine's CPU against the same;
#   4. a Trainable Tokens step, ours (harness) against PEFT (python), same GPU, same shapes (Qwen3 8B's and Llama 3.2
#      1B's, random weights, bf16), batch and sequence, Qwen3 8B at 2048 tokens included; then on the CPU with the
#      same thread count for both;
#   5. LoRA and LoRA + trainable tokens adapters against PEFT, both ways (tests/reference/check_lora_peft.py and the
#      harness's lora-check);
#   6. the recorded transformers/PEFT reference cases (tests/reference), and tokenizers, when their cases are carried;
#   3b (run after 3). training jobs from Export-TokenTrainingJob trained by Trainer + PEFT (accelerate launch
#      --num_processes 1 on the GPU, else python on the CPU), their adapters loaded by PEFT and imported here.
#
# Prepare on the build machine first (publishes the harness, packs the wrapper sources and the cases):
#   tests/device/prepare-device-run.sh
# then run, from the repository root on the device machine (tests/device/README.md has the exact `run` call):
#   bash tests/device/run-device-checks.sh
# Settings (environment): OUT (results), DEVICE_CHECK_BUDGET_S (whole run, default 450), DEVICE_CHECK_DRY=1 (print
# every python/GPU/harness command instead of running it: the shell logic alone, for tests), DEVICE_CHECK_CARRY (the
# prepared folder, default tests/device/carry), DEVICE_CHECK_WORK (scratch, default /tmp/device-work),
# DEVICE_CHECK_LIBTORCH (a libtorch lib folder; default: the python3 torch's), DEVICE_CHECK_PYTHON (default python3),
# DEVICE_CHECK_ONLY (space-separated step names to run; default all).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
OUT=${OUT:-/tmp/device-out}
DRY=${DEVICE_CHECK_DRY:-0}
BUDGET=${DEVICE_CHECK_BUDGET_S:-450}
CARRY=${DEVICE_CHECK_CARRY:-tests/device/carry}
WORK=${DEVICE_CHECK_WORK:-/tmp/device-work}
PY=${DEVICE_CHECK_PYTHON:-python3}
ONLY=${DEVICE_CHECK_ONLY:-}
START=$(date +%s)
mkdir -p "$OUT" "$WORK/details"
SUMMARY="$OUT/summary.txt"
LOG="$OUT/device-checks.log"
BENCH="$OUT/bench.jsonl"
DETAILS="$WORK/details"
: >"$SUMMARY"; : >"$LOG"; : >"$BENCH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

say() { echo "$*" | tee -a "$LOG"; }
note() { echo "$*" | tee -a "$LOG" >>"$SUMMARY"; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# step NAME LIMIT_S COMMAND...: runs COMMAND with a limit of LIMIT_S or what is left of the budget (less 20 s for
# packing), its output to the log and to details/NAME.log; one line in summary.txt. In dry mode it prints the command.
step() {
  local name=$1 limit=$2; shift 2
  if ! wanted "$name"; then return 0; fi
  local remaining; remaining=$(( $(left) - 20 ))
  if [ "$remaining" -lt 10 ]; then note "skip $name: out of time (budget ${BUDGET}s)"; return 0; fi
  [ "$limit" -gt "$remaining" ] && limit=$remaining
  say "== $name (limit ${limit}s)"
  if [ "$DRY" = 1 ]; then
    say "dry: $*"; note "dry  $name: $*"; return 0
  fi
  local t0 rc; t0=$(date +%s)
  # bash -c: the command may be one of this script's functions (exported below); timeout runs only programs.
  timeout -k 5 "$limit" bash -c '"$@"' _ "$@" 2>&1 | tee "$DETAILS/$name.log" | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  local took=$(( $(date +%s) - t0 ))
  case $rc in
    0) note "ok   $name (${took}s)";;
    124|137) note "FAIL $name: ran past its ${limit}s limit";;
    *) note "FAIL $name: exit $rc (${took}s); details/$name.log";;
  esac
  return $rc
}

unpack() { # unpack NAME.tgz from the carry folder into DEST; false when it was not carried
  local archive="$CARRY/$1.tgz" dest=$2
  [ -f "$archive" ] || return 1
  mkdir -p "$dest" && tar xzf "$archive" -C "$dest"
}

# ---- 1. tools, versions, the machine's libtorch -------------------------------------------------------------------
say "== device checks $(date -u +%FT%TZ), budget ${BUDGET}s, dry=$DRY"
{
  echo "uname: $(uname -srm)"
  for tool in nvidia-smi "$PY" cmake ninja g++ gcc c++ ldd nvcc; do
    if command -v "$tool" >/dev/null 2>&1; then echo "tool $tool: $(command -v "$tool")"; else echo "tool $tool: missing"; fi
  done
  command -v g++ >/dev/null 2>&1 && echo "g++ version: $(g++ -dumpfullversion 2>/dev/null)"
  command -v cmake >/dev/null 2>&1 && echo "cmake version: $(cmake --version | head -1)"
  command -v nproc >/dev/null 2>&1 && echo "cores: $(nproc)"
  ldconfig -p 2>/dev/null | grep -m1 'libstdc++.so.6 ' || true
} | tee -a "$LOG" >"$DETAILS/tools.txt"
if [ "$DRY" != 1 ] && command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version --format=csv,noheader,nounits 2>&1 | tee -a "$LOG" >"$OUT/nvidia-smi.txt"
fi
THREADS=$( (command -v nproc >/dev/null && nproc) || echo 16)

LIBTORCH=${DEVICE_CHECK_LIBTORCH:-}
if [ -z "$LIBTORCH" ] && [ "$DRY" != 1 ] && command -v "$PY" >/dev/null 2>&1; then
  LIBTORCH=$("$PY" -c "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))" 2>>"$LOG")
  "$PY" -c "import torch, transformers, safetensors, peft; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cxx11abi', int(torch._C._GLIBCXX_USE_CXX11_ABI), 'transformers', transformers.__version__, 'safetensors', safetensors.__version__, 'peft', peft.__version__)" 2>&1 | tee -a "$LOG" >"$DETAILS/versions.txt"
fi
[ "$DRY" = 1 ] && [ -z "$LIBTORCH" ] && LIBTORCH=/dry/torch/lib
note "libtorch: ${LIBTORCH:-none found (no python3 torch)}"

# ---- the harness (published by prepare-device-run.sh; carried as harness.tgz) ---------------------------------------
HARNESS_DIR="$WORK/harness"
HARNESS=""
if unpack harness "$WORK"; then
  HARNESS="$HARNESS_DIR/DeviceHarness"
  chmod +x "$HARNESS" 2>/dev/null
  note "harness: $(cat "$HARNESS_DIR/harness-commit.txt" 2>/dev/null || echo 'commit unknown')"
else
  note "skip harness steps: $CARRY/harness.tgz was not carried (run tests/device/prepare-device-run.sh)"
fi

# ---- 2. ABI: does TorchSharp's wrapper resolve against this libtorch? else rebuild it here ---------------------------
undefined_symbols() { # count of symbols of the wrapper that do not resolve against $LIBTORCH
  if command -v ldd >/dev/null 2>&1; then
    LD_LIBRARY_PATH="$LIBTORCH" ldd -r "$1" 2>&1 | grep -c 'undefined symbol' || true
  else # no ldd: bind every symbol at load (RTLD_NOW) instead; 1 when that fails
    LD_LIBRARY_PATH="$LIBTORCH" "$PY" -c "import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)" "$1" >/dev/null 2>&1 && echo 0 || echo 1
  fi
}

# Builds libLibTorchSharp.so from TorchSharp's src/Native (carried as torchsharp-native.tgz) against the machine's
# PyTorch: its headers (torch/include), its libraries (torch/lib) and its C++ ABI flag. A direct compiler call, not
# TorchSharp's CMakeLists: that one expects TorchSharp's build tree (bin/obj version files), makes warnings errors
# and, through a CUDA PyTorch's TorchConfig.cmake, needs a configured CUDA toolkit; the wrapper itself uses no CUDA
# headers (torch_cuda is loaded at run time by name).
build_wrapper() {
  local src="$WORK/torchsharp/src/Native" out="$WORK/wrapper" cxx torch_dir abi
  mkdir -p "$out"
  if [ ! -d "$src/LibTorchSharp" ]; then echo "no wrapper sources: $CARRY/torchsharp-native.tgz was not carried"; return 1; fi
  cxx=$(command -v g++ || command -v c++ || command -v clang++ || true)
  if [ -z "$cxx" ]; then echo "no C++ compiler (g++, c++, clang++) on this machine: cannot rebuild the wrapper"; return 1; fi
  torch_dir=$(dirname "$LIBTORCH")
  if [ ! -f "$torch_dir/include/torch/torch.h" ] && [ ! -f "$torch_dir/include/torch/csrc/api/include/torch/torch.h" ]; then
    echo "no libtorch headers under $torch_dir/include"; return 1
  fi
  abi=$("$PY" -c "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))" 2>/dev/null || echo 1)
  local flags="-O1 -fPIC -std=c++17 -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=$abi -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP -w"
  flags="$flags -I$src -I$src/LibTorchSharp -I$torch_dir/include -I$torch_dir/include/torch/csrc/api/include"
  echo "compiler $cxx ($("$cxx" -dumpfullversion 2>/dev/null)), abi $abi, $(ls "$src"/LibTorchSharp/*.cpp | wc -l) sources, $THREADS jobs"
  export WRAPPER_CXX="$cxx" WRAPPER_FLAGS="$flags" WRAPPER_OUT="$out"
  # shellcheck disable=SC2016
  # A source that does not compile against this PyTorch is left out, not fatal: .NET binds each P/Invoke entry point
  # at its first call, so the engine runs as long as it calls nothing from that file (the forward checks show it).
  ls "$src"/LibTorchSharp/*.cpp | xargs -P "$THREADS" -I{} sh -c 'f=$(basename "$1"); $WRAPPER_CXX $WRAPPER_FLAGS -c "$1" -o "$WRAPPER_OUT/$f.o" 2>"$WRAPPER_OUT/$f.err" || echo "left out $f: $(grep -m1 "error" "$WRAPPER_OUT/$f.err")"' _ {}
  ls "$out"/*.cpp.o >/dev/null 2>&1 || { echo "no source compiled; the first errors:"; cat "$out"/*.err | grep -m10 error; return 1; }
  "${cxx%++}cc" -O2 -fPIC -DCRC32C_GCC -msse4.2 -w -c "$src/LibTorchSharp/crc32c.c" -o "$out/crc32c.o" 2>/dev/null \
    || gcc -O2 -fPIC -msse4.2 -w -c "$src/LibTorchSharp/crc32c.c" -o "$out/crc32c.o" || return 1
  "$cxx" -shared -o "$out/libLibTorchSharp.so" "$out"/*.o -L"$LIBTORCH" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 \
    -Wl,-Bsymbolic -Wl,-Bsymbolic-functions -Wl,-rpath,"$LIBTORCH" || return 1
  echo "built $out/libLibTorchSharp.so: $(undefined_symbols "$out/libLibTorchSharp.so") undefined symbols against $LIBTORCH"
}

abi_check() {
  local wrapper="$HARNESS_DIR/libLibTorchSharp.so" missing
  missing=$(undefined_symbols "$wrapper")
  echo "TorchSharp's wrapper (built for libtorch 2.10.0) against $LIBTORCH: $missing undefined symbols"
  LD_LIBRARY_PATH="$LIBTORCH" ldd -r "$wrapper" 2>&1 | grep 'undefined symbol' | head -5
  [ "$missing" = 0 ] && return 0
  echo "rebuilding the wrapper from TorchSharp's sources against this PyTorch"
  unpack torchsharp-native "$WORK/torchsharp" || { echo "$CARRY/torchsharp-native.tgz was not carried"; return 1; }
  cat "$WORK/torchsharp/COMMIT" 2>/dev/null
  build_wrapper || return 1
  [ "$(undefined_symbols "$WORK/wrapper/libLibTorchSharp.so")" = 0 ] || return 1
  cp "$WORK/wrapper/libLibTorchSharp.so" "$wrapper"
  echo "the harness now uses the rebuilt wrapper"
}

export -f unpack undefined_symbols build_wrapper abi_check
export HARNESS HARNESS_DIR LIBTORCH WORK CARRY PY THREADS
HARNESS_OK=0
if [ -n "$HARNESS" ] && [ -n "$LIBTORCH" ]; then
  if step abi 300 abi_check; then HARNESS_OK=1
  else note "skip harness steps: the wrapper does not load with this libtorch (details/abi.log)"
  fi
fi
export LD_LIBRARY_PATH="${LIBTORCH}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
H() { "$HARNESS" --libtorch "$LIBTORCH" "$@"; }
export -f H

# ---- 3. forward and training on cuda (and this machine's CPU) against the recorded CPU results ------------------------
if [ "$HARNESS_OK" = 1 ]; then
  step harness-env 60 H env
  step forward-cuda 90 H forward --fixtures tests/fixtures/reference --device cuda --out "$DETAILS/forward-cuda" --expected tests/device/expected/forward
  step train-cuda 120 H train --examples examples --device cuda --out "$DETAILS/train-cuda" --expected tests/device/expected/train
fi

# ---- 3b. exported training jobs: Trainer + PEFT train them here (one GPU with accelerate, else the CPU), PEFT loads
# the adapter, then our import takes it back and must give PEFT's logits -------------------------------------------------
if unpack jobs "$WORK"; then
  for job in "$WORK"/jobs/*/; do
    name=$(basename "$job")
    step "job-run-$name" 150 "$PY" tests/device/check_job.py "$job" "$ROOT/examples/models/tiny-llama3" "$WORK/job-runs/$name"
  done
  if [ "$HARNESS_OK" = 1 ]; then
    step job-ours-cpu 60 H job-check --jobs "$WORK/jobs" --runs "$WORK/job-runs" --model examples/models/tiny-llama3 --device cpu
    step job-ours-cuda 60 H job-check --jobs "$WORK/jobs" --runs "$WORK/job-runs" --model examples/models/tiny-llama3 --device cuda
  fi
  [ "$DRY" = 1 ] || cp -r "$WORK/job-runs" "$DETAILS/" 2>/dev/null
else
  note "skip jobs: $CARRY/jobs.tgz was not carried"
fi

# ---- 4. a Trainable Tokens step: ours against PEFT, same GPU, same shapes; then the CPU with the same threads --------
# label config batch seq steps (bf16, k = 2 trained tokens)
GPU_BENCH=(
  "llama-3.2-1b tests/fixtures/configs/llama-3.2-1b/config.json 4 2048 5"
  "qwen3-8b tests/fixtures/configs/qwen3-8b/config.json 1 2048 3"
)
# Run last, if time is left: longer sequences, where the formulations' memory differs most.
EXTRA_GPU_BENCH=("qwen3-8b-4k tests/fixtures/configs/qwen3-8b/config.json 1 4096 3")
CPU_BENCH=("llama-3.2-1b tests/fixtures/configs/llama-3.2-1b/config.json 1 128 2")
bench_pair() { # device label config batch seq steps [threads]
  local device=$1 label=$2 config=$3 batch=$4 seq=$5 steps=$6 threads=${7:-}
  local common="--config $config --device $device --dtype bfloat16 --batch $batch --seq $seq --steps $steps --k 2 --label $label"
  if [ "$HARNESS_OK" = 1 ]; then
    step "bench-ours-$device-$label" 150 H ${threads:+--threads $threads} bench $common
    [ "$DRY" = 1 ] || grep -h '^{' "$DETAILS/bench-ours-$device-$label.log" >>"$BENCH" 2>/dev/null
  fi
  step "bench-peft-$device-$label" 150 "$PY" tests/device/peft_step_bench.py $common ${threads:+--threads $threads}
  [ "$DRY" = 1 ] || grep -h '^{' "$DETAILS/bench-peft-$device-$label.log" >>"$BENCH" 2>/dev/null
}
for b in "${GPU_BENCH[@]}"; do bench_pair cuda $b; done

# ---- 5. LoRA (+ trainable tokens) against PEFT, both ways ---------------------------------------------------------
if unpack lora-cases "$WORK"; then
  step lora-peft 120 "$PY" tests/reference/check_lora_peft.py "$WORK/lora-cases" "$DETAILS/lora"
  if [ "$HARNESS_OK" = 1 ]; then
    step lora-ours-cpu 60 H lora-check --cases "$DETAILS/lora/peft-lora" --models "$WORK/lora-cases" --device cpu
    step lora-ours-cuda 60 H lora-check --cases "$DETAILS/lora/peft-lora" --models "$WORK/lora-cases" --device cuda
  fi
else
  note "skip lora: $CARRY/lora-cases.tgz was not carried"
fi

# ---- 6. the recorded transformers/PEFT reference cases, on the CPU ----------------------------------------------------
cases_dir() { # the cases folder: tests/reference/NAME when present, else unpacked from the carry
  if [ -d "tests/reference/$1" ]; then echo "tests/reference/$1"; elif unpack "$1" "$WORK"; then echo "$WORK/$1"; fi
}
REF=$(cases_dir cases)
if [ -n "$REF" ]; then step reference-transformers 120 env CUDA_VISIBLE_DEVICES= "$PY" tests/reference/check_against_transformers.py "$REF" "$DETAILS/reference"
else note "skip reference-transformers: no tests/reference/cases and no $CARRY/cases.tgz"; fi
ADP=$(cases_dir adapter-cases)
if [ -n "$ADP" ]; then step reference-peft 120 env CUDA_VISIBLE_DEVICES= "$PY" tests/reference/check_against_peft.py "$ADP" "$DETAILS/peft"
else note "skip reference-peft: no tests/reference/adapter-cases and no $CARRY/adapter-cases.tgz"; fi

# CPU last: the slowest per step, and PEFT's fair peer there.
for b in "${CPU_BENCH[@]}"; do bench_pair cpu $b "$THREADS"; done

# Extras, if time is left: the machine's CPU libtorch against the recorded CPU outputs, and longer sequences.
if [ "$HARNESS_OK" = 1 ]; then
  step forward-cpu 60 H forward --fixtures tests/fixtures/reference --device cpu --out "$DETAILS/forward-cpu" --expected tests/device/expected/forward
fi
for b in "${EXTRA_GPU_BENCH[@]}"; do bench_pair cuda $b; done

# Tokenizers against Python's transformers (CPU), when their cases are carried (tests/tokenizers/README.md).
if [ -d tests/tokenizers/cases ]; then
  roots="tests/fixtures/tokenizers"
  if [ -f tests/tokenizers/heldout.tgz ]; then mkdir -p "$WORK/heldout" && tar xzf tests/tokenizers/heldout.tgz -C "$WORK/heldout" && roots="$roots $WORK/heldout/full"; fi
  # shellcheck disable=SC2086
  step tokenizers 90 env CUDA_VISIBLE_DEVICES= "$PY" tests/tokenizers/check_with_transformers.py tests/tokenizers/cases $roots
fi

# ---- results -----------------------------------------------------------------------------------------------------
if [ "$DRY" != 1 ] && [ -s "$BENCH" ]; then "$PY" tests/device/summarise_bench.py "$BENCH" 2>&1 | tee -a "$LOG" >>"$SUMMARY"; fi
# -----------------------------------------------------------------------------------------------------
note "total $(( $(date +%s) - START ))s of ${BUDGET}s; $(grep -c '^FAIL' "$SUMMARY") failed"
tar czf "$OUT/details.tgz" -C "$WORK" details 2>/dev/null
cat "$SUMMARY"
exit 0
