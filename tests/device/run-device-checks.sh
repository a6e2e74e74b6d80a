#!/usr/bin/env bash
# The checks that need the GPU machine, as one script: NVML device listing against nvidia-smi, and our forward
# passes against Hugging Face transformers (CPU). Results land in $OUT.
# Prepare here first: dotnet publish tests/device/NvmlProbe -c Release -o tests/device/out (tokenizer cases: see the end)
#                     dotnet pwsh -NoProfile -File tests/reference/New-ReferenceCases.ps1 -OutDir tests/reference/cases
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
echo "== nvidia-smi"; nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits 2>&1 | tee "$OUT/nvidia-smi.txt"
echo "== NvmlProbe (the engine's NVML reader)"; chmod +x tests/device/out/NvmlProbe; tests/device/out/NvmlProbe 2>&1 | tee "$OUT/nvml-probe.txt"
echo "== versions"; python3 -c "import torch, transformers, safetensors; print('torch', torch.__version__, 'transformers', transformers.__version__, 'safetensors', safetensors.__version__)" 2>&1 | tee "$OUT/versions.txt"
echo "== forward passes against transformers"
CUDA_VISIBLE_DEVICES="" python3 tests/reference/check_against_transformers.py tests/reference/cases "$OUT/reference" 2>&1 | tee "$OUT/reference.txt"
# Tokenizers against Python's transformers (CPU). Prepare here first:
#   dotnet pwsh -NoProfile -File tests/tokenizers/New-DeviceCases.ps1 -OutDir tests/tokenizers/cases
#   optional held-out tokenizers: tests/tokenizers/README.md, packed as tests/tokenizers/heldout.tgz (folder full/)
# and carry tests/tokenizers/cases and tests/tokenizers/heldout.tgz.
if [ -d tests/tokenizers/cases ]; then
  echo "== tokenizers against transformers"
  roots="tests/fixtures/tokenizers"
  if [ -f tests/tokenizers/heldout.tgz ]; then mkdir -p /tmp/heldout && tar xzf tests/tokenizers/heldout.tgz -C /tmp/heldout && roots="$roots /tmp/heldout/full"; fi
  CUDA_VISIBLE_DEVICES="" python3 tests/tokenizers/check_with_transformers.py tests/tokenizers/cases $roots 2>&1 | tee "$OUT/tokenizers-transformers.txt"
fi
