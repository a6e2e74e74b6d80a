<#
.SYNOPSIS
    Load time and peak memory of a ~1 GB random checkpoint, against the file size and a plain read of the file;
    writes bench/results/model-load.md.
.DESCRIPTION
    A llama-shaped model (vocab 32000, hidden 2048, 2 layers, untied head: ~234M float32 parameters, ~0.94 GB) is
    written once into bench/work. Each run is a fresh pwsh process: import the module, load libtorch (baseline),
    then Invoke-TokenModel on 4 tokens; VmHWM gives the peak resident memory. File.ReadAllBytes of the same file into fresh
    memory (page cache warm, as for the load) is the yardstick.
    Reproduce: dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'),
    [int] $Runs = 3
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$work = Join-Path $PSScriptRoot 'work'
$model = Join-Path $work 'llama-1gb'
New-Item -ItemType Directory -Force -Path $work | Out-Null
$processPath = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path $processPath -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }

if (-not (Test-Path (Join-Path $model 'model.safetensors'))) {
    & $processPath @prefix -NoProfile -NonInteractive -Command "Import-Module '$ModuleManifest'; New-TinyModel llama '$model' -Untied -VocabSize 32000 -HiddenSize 2048 -IntermediateSize 5632 -NumLayers 2 -NumHeads 16 -NumKeyValueHeads 16 -Seed 7 -Force | Out-Null"
    if ($LASTEXITCODE) { throw 'Creating the 1 GB model failed.' }
}
$file = Get-Item (Join-Path $model 'model.safetensors')

$probe = @"
`$ErrorActionPreference = 'Stop'
function Hwm { [double](Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)').Matches[0].Groups[1].Value * 1KB }
Import-Module '$ModuleManifest'; `$null = Get-TrainableTokensEnvironment
`$base = Hwm
`$w = [Diagnostics.Stopwatch]::StartNew()
`$r = Invoke-TokenModel -Model '$model' -InputId 1, 2, 3, 4 -OutFile '$work/out.safetensors' -Force
'{0};{1};{2};{3}' -f `$r.LoadSeconds, `$w.Elapsed.TotalSeconds, `$base, (Hwm)
"@
# The yardstick: read the whole file into freshly allocated memory of its size (so the page faults of new memory
# count, as they do for the load), with nothing else.
$readProbe = @"
`$w = [Diagnostics.Stopwatch]::StartNew()
`$bytes = [IO.File]::ReadAllBytes('$($file.FullName)')
`$w.Elapsed.TotalSeconds
"@

$null = & $processPath @prefix -NoProfile -NonInteractive -Command $readProbe   # warm the page cache
$rows = foreach ($i in 1..$Runs) {
    $read = [double](& $processPath @prefix -NoProfile -NonInteractive -Command $readProbe)
    $v = (& $processPath @prefix -NoProfile -NonInteractive -Command $probe).Split(';')
    [pscustomobject]@{ Load = [double]$v[0]; Total = [double]$v[1]; Base = [double]$v[2]; Peak = [double]$v[3]; Read = $read }
}
function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
$size = $file.Length
$load = Median $rows.Load; $read = Median $rows.Read; $peak = Median $rows.Peak; $base = Median $rows.Base
$lines = @(
    '# Model load: a ~1 GB checkpoint'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription). Median of $Runs fresh processes; page cache warm."
    ''
    'Command: `dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench` (runs `bench/ModelLoad.Bench.ps1`).'
    ''
    '| measure | value |'
    '| --- | ---: |'
    ('| checkpoint size | {0:N0} bytes ({1:N2} GiB) |' -f $size, ($size / 1GB))
    ('| load (config + every tensor into native memory) | {0:N2} s |' -f $load)
    ('| File.ReadAllBytes of the same file (into fresh memory) | {0:N2} s |' -f $read)
    ('| load / plain read | {0:N2} x |' -f ($load / $read))
    ('| Invoke-TokenModel in all (load, forward of 4 tokens, write outputs) | {0:N2} s |' -f (Median $rows.Total))
    ('| peak RSS before loading (module + libtorch) | {0:N0} MiB |' -f ($base / 1MB))
    ('| peak RSS after loading | {0:N0} MiB |' -f ($peak / 1MB))
    ('| (peak - before) / checkpoint size | {0:N2} x |' -f (($peak - $base) / $size))
)
$lines += @('', 'A ratio near 1.0 means the weights are held once: nothing is staged in managed memory or kept mapped twice.')
Set-Content -Path (Join-Path $PSScriptRoot 'results/model-load.md') -Value $lines
$lines | Out-Host
