#!/usr/bin/env bash
# The checks that need the GPU machine, as one script: NVML device listing against nvidia-smi, our forward passes
# against Hugging Face transformers, and our adapters against Python PEFT (both ways; CPU). Results land in $OUT.
# Prepare here first:
#   dotnet publish tests/device/NvmlProbe -c Release -o tests/device/out
#   dotnet pwsh -NoProfile -File tests/reference/New-ReferenceCases.ps1 -OutDir tests/reference/cases
#   dotnet pwsh -NoProfile -File tests/reference/New-AdapterCases.ps1 -OutDir tests/reference/adapter-cases
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
echo "== nvidia-smi"; nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits 2>&1 | tee "$OUT/nvidia-smi.txt"
if [ -x tests/device/out/NvmlProbe ] || [ -f tests/device/out/NvmlProbe ]; then
  echo "== NvmlProbe (the engine's NVML reader)"; chmod +x tests/device/out/NvmlProbe; tests/device/out/NvmlProbe 2>&1 | tee "$OUT/nvml-probe.txt"
fi
echo "== versions"; python3 -c "import torch, transformers, safetensors, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'safetensors', safetensors.__version__, 'peft', peft.__version__)" 2>&1 | tee "$OUT/versions.txt"
export CUDA_VISIBLE_DEVICES="" HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
if [ -d tests/reference/cases ]; then
  echo "== forward passes against transformers"
  python3 tests/reference/check_against_transformers.py tests/reference/cases /tmp/ref 2>&1 | grep -v "Loading weights" | tee "$OUT/reference.txt"
  tar czf "$OUT/reference.tgz" -C /tmp/ref .
fi
if [ -d tests/reference/adapter-cases ]; then
  echo "== adapters against PEFT"
  python3 tests/reference/check_against_peft.py tests/reference/adapter-cases /tmp/peft 2>&1 | grep -v "Loading weights" | tee "$OUT/peft.txt"
  tar czf "$OUT/peft.tgz" -C /tmp/peft .
fi
# Tokenizers against Python's transformers (CPU). Prepare here first:
#   dotnet pwsh -NoProfile -File tests/tokenizers/New-DeviceCases.ps1 -OutDir tests/tokenizers/cases
#   optional held-out tokenizers: tests/tokenizers/README.md, packed as tests/tokenizers/heldout.tgz (folder full/)
# and carry tests/tokenizers/cases and tests/tokenizers/heldout.tgz.
if [ -d tests/tokenizers/cases ]; then
  echo "== tokenizers against transformers"
  roots="tests/fixtures/tokenizers"
  if [ -f tests/tokenizers/heldout.tgz ]; then mkdir -p /tmp/heldout && tar xzf tests/tokenizers/heldout.tgz -C /tmp/heldout && roots="$roots /tmp/heldout/full"; fi
  python3 tests/tokenizers/check_with_transformers.py tests/tokenizers/cases $roots 2>&1 | grep -v "Loading weights" | tee "$OUT/tokenizers-transformers.txt"
fi
