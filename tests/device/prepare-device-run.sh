#!/usr/bin/env bash
# Prepares, on the build machine, everything run-device-checks.sh needs on the GPU machine, into tests/device/carry
# (git-ignored; the device `run` call names it in carry):
#   harness.tgz            the harness (tests/device/Harness), self-contained and trimmed, without libtorch: it loads
#                          the machine's PyTorch libtorch. The GLIBCXX shim is applied where this machine needs it.
#   torchsharp-native.tgz  TorchSharp's own src/Native at v0.107.0 (to rebuild libLibTorchSharp.so there when the
#                          machine's libtorch is not ABI-compatible). TorchSharp's sources never enter the repository.
#   lora-cases.tgz         tiny models and our LoRA (+ trainable tokens) adapters, from the harness's lora-write
#   cases.tgz, adapter-cases.tgz   the transformers/PEFT reference cases (tests/reference/New-*Cases.ps1); these need
#                          the built module (./build.ps1) and are left out with --no-reference
#   jobs.tgz               training jobs from Export-TokenTrainingJob (tests/device/New-JobCases.ps1; built module too)
# and checks that what travels (tracked files + untracked-not-ignored + this folder) stays under the tool's 64 MiB.
#
# usage: tests/device/prepare-device-run.sh [--torchsharp-git GIT_DIR] [--no-reference]
#   GIT_DIR: a clone of github.com/dotnet/TorchSharp at v0.107.0 (default: $TORCHSHARP_GIT, else the mirror that the
#   session's fetch tool made, /work/.mirror/dotnet+TorchSharp/repo)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TORCHSHARP_GIT=${TORCHSHARP_GIT:-/work/.mirror/dotnet+TorchSharp/repo}
REFERENCE=1
while [ $# -gt 0 ]; do
  case $1 in
    --torchsharp-git) TORCHSHARP_GIT=$2; shift;;
    --no-reference) REFERENCE=0;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
  shift
done
CARRY=tests/device/carry
LIMIT=$((64 * 1024 * 1024))
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$CARRY"

echo "== harness: publish (self-contained, trimmed, no libtorch)"
dotnet publish tests/device/Harness -c Release -o "$SCRATCH/harness" -nologo -v quiet
# The debugger's libraries, symbols and docs are not needed to run.
rm -f "$SCRATCH"/harness/{libmscordaccore.so,libmscordbi.so,createdump,*.pdb,*.xml}
git rev-parse HEAD >"$SCRATCH/harness/harness-commit.txt"
tar czf "$CARRY/harness.tgz" -C "$SCRATCH" harness

echo "== TorchSharp's native sources"
COMMIT=$(git --git-dir="$TORCHSHARP_GIT" rev-parse HEAD)
VERSION=$(git --git-dir="$TORCHSHARP_GIT" show HEAD:build/BranchInfo.props | sed -n 's:.*<\(Major\|Minor\|Patch\)Version>\([0-9]*\)<.*:\2:p' | paste -sd.)
[ "$VERSION" = "0.107.0" ] || { echo "TorchSharp at $TORCHSHARP_GIT is $VERSION, not 0.107.0 (the version this project references)" >&2; exit 1; }
mkdir -p "$SCRATCH/torchsharp"
git --git-dir="$TORCHSHARP_GIT" archive HEAD src/Native LICENSE.txt | tar x -C "$SCRATCH/torchsharp"
echo "TorchSharp $VERSION, commit $COMMIT (github.com/dotnet/TorchSharp), src/Native only" >"$SCRATCH/torchsharp/COMMIT"
tar czf "$CARRY/torchsharp-native.tgz" -C "$SCRATCH/torchsharp" .

LIBTORCH="${NUGET_PACKAGES:-$HOME/.nuget/packages}/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native"
echo "== LoRA cases (harness lora-write, CPU, this machine's libtorch $LIBTORCH)"
"$SCRATCH/harness/DeviceHarness" --libtorch "$LIBTORCH" lora-write --out "$SCRATCH/lora-cases"
tar czf "$CARRY/lora-cases.tgz" -C "$SCRATCH" lora-cases

if [ "$REFERENCE" = 1 ]; then
  echo "== transformers/PEFT reference cases (the built module)"
  [ -f out/TrainableTokens/TrainableTokens.psd1 ] || { echo "build the module first: dotnet pwsh -NoProfile -File ./build.ps1 (or pass --no-reference)" >&2; exit 1; }
  dotnet pwsh -NoProfile -File tests/reference/New-ReferenceCases.ps1 -OutDir "$SCRATCH/cases" >/dev/null
  dotnet pwsh -NoProfile -File tests/reference/New-AdapterCases.ps1 -OutDir "$SCRATCH/adapter-cases" >/dev/null
  tar czf "$CARRY/cases.tgz" -C "$SCRATCH" cases
  tar czf "$CARRY/adapter-cases.tgz" -C "$SCRATCH" adapter-cases
  echo "== exported training jobs (Export-TokenTrainingJob, for Trainer + PEFT on the device)"
  dotnet pwsh -NoProfile -File tests/device/New-JobCases.ps1 -OutDir "$SCRATCH/jobs" >/dev/null
  tar czf "$CARRY/jobs.tgz" -C "$SCRATCH" jobs
fi

echo "== what travels"
carried=$(du -cb "$CARRY"/* | tail -1 | cut -f1)
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" { s += $1 } END { print s + 0 }')
ls -l "$CARRY"
total=$((carried + tree))
awk -v c="$carried" -v t="$tree" 'BEGIN { printf "carried %.1f MiB + working tree %.1f MiB = %.1f MiB of 64 MiB\n", c / 1048576, t / 1048576, (c + t) / 1048576 }'
[ "$total" -lt "$LIMIT" ] || { echo "over the device tool's 64 MiB limit" >&2; exit 1; }
