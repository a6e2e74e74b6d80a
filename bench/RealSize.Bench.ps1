<#
.SYNOPSIS
    Memory at real size: loads a Llama 3.1 8B-shaped checkpoint (random bfloat16 weights, ~16 GB in four shards, as
    Hugging Face saves it) with Invoke-TokenModel and runs a forward of 128 tokens; writes bench/results/real-size.md.
.DESCRIPTION
    The folder is built once into bench/work/llama-3.1-8b-shaped (gitignored) by bench/RealSize, which writes shard by
    shard, each tensor made only when the writer reaches it, from the published config.json in
    tests/fixtures/configs/llama-3.1-8b; the tiny Llama 3 example's tokenizer (the real Llama 3 tokenizer) is copied in.
    Each measurement is a fresh pwsh process: import the module, start libtorch (baseline), then Invoke-TokenModel
    -Dtype bfloat16; VmHWM from /proc/self/status gives the peak resident memory. One process runs 1 token (the peak is
    the load's), the others run 128 and 256 tokens (the forward's time, and how its memory grows). The target is a peak of at most 1.1x the checkpoint files.
    Needs about 17 GB free disk and 18 GB free memory; without them it is skipped with a warning. -Remove deletes the folder afterwards (it is also removed when
    less than 20 GB of disk would be left).
    Reproduce: dotnet pwsh -NoProfile -File bench/RealSize.Bench.ps1
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'),
    [int[]] $Tokens = @(128, 256),
    [switch] $Remove
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$root = Split-Path $PSScriptRoot -Parent
$work = Join-Path $PSScriptRoot 'work'
$model = Join-Path $work 'llama-3.1-8b-shaped'
$config = Join-Path $root 'tests/fixtures/configs/llama-3.1-8b/config.json'
New-Item -ItemType Directory -Force -Path $work | Out-Null
$processPath = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path $processPath -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }

function FreeDisk { (Get-PSDrive -PSProvider FileSystem | Where-Object { $work.StartsWith($_.Root) } | Sort-Object { $_.Root.Length } -Descending | Select-Object -First 1).Free }
function MemAvailable { [double](Select-String -Path /proc/meminfo -Pattern '^MemAvailable:\s+(\d+)').Matches[0].Groups[1].Value * 1KB }

# A machine without the room skips this bench (build.ps1 -Task Bench runs every bench) and keeps the recorded results.
if ((MemAvailable) -lt 18GB) {
    Write-Warning "Skipped: loading the 16 GB checkpoint needs about 18 GB of free memory; $([math]::Round((MemAvailable) / 1GB, 1)) GB is available."
    return
}
if (-not (Test-Path (Join-Path $model 'model.safetensors.index.json'))) {
    if ((FreeDisk) -lt 17GB) {
        Write-Warning "Skipped: building the 16 GB checkpoint needs about 17 GB of free disk; $([math]::Round((FreeDisk) / 1GB, 1)) GB is free."
        return
    }
    & dotnet build (Join-Path $PSScriptRoot 'RealSize/RealSize.csproj') -c Release -v quiet -nologo | Out-Host
    if ($LASTEXITCODE) { throw 'Building bench/RealSize failed.' }
    $written = & (Join-Path $PSScriptRoot 'RealSize/bin/Release/net10.0/linux-x64/RealSize') $config $model
    if ($LASTEXITCODE) { throw 'Writing the checkpoint failed.' }
    "Written: $written (shards; bytes; seconds)" | Out-Host
}
foreach ($name in 'tokenizer.json', 'tokenizer_config.json') {
    Copy-Item (Join-Path $root "examples/models/tiny-llama3/$name") (Join-Path $model $name) -Force
}
$shards = Get-ChildItem $model -Filter 'model-*.safetensors'
$size = ($shards | Measure-Object Length -Sum).Sum

# Spread over the vocabulary, the same every run.
$ids = (0..(($Tokens | Measure-Object -Maximum).Maximum - 1) | ForEach-Object { ($_ * 7919 + 13) % 128000 }) -join ','
function Probe([int] $count) {
@"
`$ErrorActionPreference = 'Stop'
function Status([string] `$key) { [double](Select-String -Path /proc/self/status -Pattern "^`${key}:\s+(\d+)").Matches[0].Groups[1].Value * 1KB }
Import-Module '$ModuleManifest'; `$null = Get-TrainableTokensEnvironment
`$base = Status VmHWM
`$ids = @($ids)[0..($count - 1)]
`$r = Invoke-TokenModel -Model '$model' -InputId `$ids -Dtype bfloat16 -OutFile '$work/real-size-out.safetensors' -Force
'{0};{1};{2};{3};{4}' -f `$r.LoadSeconds, `$r.ForwardSeconds, `$base, (Status VmHWM), (Status VmRSS)
"@
}
function Invoke-Probe([int] $count) {
    $output = @(& $processPath @prefix -NoProfile -NonInteractive -Command (Probe $count))
    if ($LASTEXITCODE) { $output | Out-Host; throw "Invoke-TokenModel on $count tokens failed." }
    $v = $output[-1].Split(';')
    [pscustomobject]@{ Tokens = $count; Load = [double]$v[0]; Forward = [double]$v[1]; Base = [double]$v[2]; Peak = [double]$v[3]; Rss = [double]$v[4] }
}
$loadOnly = Invoke-Probe 1
$runs = @($loadOnly) + @($Tokens | ForEach-Object { Invoke-Probe $_ })
$ratio = $loadOnly.Peak / $size
$longest = $runs[-1]
$perToken = ($longest.Peak - $loadOnly.Peak) / ($longest.Tokens - 1)
$memTotal = [double](Select-String -Path /proc/meminfo -Pattern '^MemTotal:\s+(\d+)').Matches[0].Groups[1].Value * 1KB
function Row([string] $measure, [scriptblock] $value) { '| {0} | {1} |' -f $measure, (($runs | ForEach-Object { & $value $_ }) -join ' | ') }
$lines = @(
    '# Memory at real size: a Llama 3.1 8B-shaped checkpoint'
    ''
    "Recorded $(Get-Date -AsUTC -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $('{0:N1}' -f ($memTotal / 1GB)) GiB memory, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription). One fresh process per column."
    ''
    "Command: ``dotnet pwsh -NoProfile -File bench/RealSize.Bench.ps1 -Tokens $($Tokens -join ',')``"
    ''
    "Checkpoint: config.json of meta-llama/Llama-3.1-8B (tests/fixtures/configs/llama-3.1-8b), random bfloat16 weights, $($shards.Count) shards + model.safetensors.index.json, $('{0:N0}' -f $size) bytes ($('{0:N2}' -f ($size / 1GB)) GiB) of weight files, written by bench/RealSize shard by shard. Loaded with ``Invoke-TokenModel -Dtype bfloat16`` on CPU."
    ''
    ('| measure | ' + (($runs | ForEach-Object { if ($_.Tokens -eq 1) { '1 token (the load)' } else { "$($_.Tokens) tokens" } }) -join ' | ') + ' |')
    ('| --- |' + (' ---: |' * $runs.Count))
    (Row 'load (config + every tensor into native memory)' { param($r) '{0:N1} s' -f $r.Load })
    (Row 'forward (and writing logits + hidden states)' { param($r) '{0:N1} s' -f $r.Forward })
    (Row 'peak RSS before loading (module + libtorch)' { param($r) '{0:N0} MiB' -f ($r.Base / 1MB) })
    (Row 'peak RSS (VmHWM) at the end' { param($r) '{0:N0} MiB' -f ($r.Peak / 1MB) })
    (Row 'RSS at the end' { param($r) '{0:N0} MiB' -f ($r.Rss / 1MB) })
    (Row 'peak / weight files' { param($r) '{0:N3} x' -f ($r.Peak / $size) })
    (Row '(peak - before) / weight files' { param($r) '{0:N3} x' -f (($r.Peak - $r.Base) / $size) })
    ''
    ('Load target (issue 11), peak at most 1.1x the weight files: {0} ({1:N3} x).' -f ($(if ($ratio -le 1.1) { 'met' } else { 'NOT met' })), $ratio)
    ('The forward adds about {0:N1} MiB of peak per token over the load ({1:N0} MiB at {2} tokens), so on this machine a forward of about {3:N0} tokens would run out of memory.' -f ($perToken / 1MB), (($longest.Peak - $loadOnly.Peak) / 1MB), $longest.Tokens, (($memTotal - $loadOnly.Peak) / $perToken))
)
Set-Content -Path (Join-Path $PSScriptRoot 'results/real-size.md') -Value $lines
$lines | Out-Host
Remove-Item "$work/real-size-out.safetensors" -ErrorAction SilentlyContinue
if ($Remove -or (FreeDisk) -lt 20GB) { Remove-Item $model -Recurse -Force; "Removed $model." | Out-Host }
