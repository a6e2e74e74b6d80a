<#
.SYNOPSIS
    Merge-TokenAdapter on the ~1 GB checkpoint of ModelLoad.Bench.ps1 against a plain copy of the same folder;
    writes bench/results/merge.md.
.DESCRIPTION
    The adapter trains 64 tokens of the 32000 x 2048 embedding (untied head: only the embedding's rows change).
    Copy and merge alternate, -Runs times each, page cache warm; the medians are compared.
    Reproduce: dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench
#>
param([string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'), [int] $Runs = 5)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest -Force
. (Join-Path $PSScriptRoot '../tests/pester/TestHelpers.ps1') 2>$null
$work = Join-Path $PSScriptRoot 'work'
$model = Join-Path $work 'llama-1gb'
if (-not (Test-Path (Join-Path $model 'model.safetensors'))) {
    $null = New-TinyModel llama $model -Untied -VocabSize 32000 -HiddenSize 2048 -IntermediateSize 5632 -NumLayers 2 -NumHeads 16 -NumKeyValueHeads 16 -Seed 7 -Force
}
$adapter = New-TestAdapter -Path (Join-Path $work 'adapter-64') -TokenIndex (0..63 | ForEach-Object { [long](31000 + $_ * 7) }) -Hidden 2048
$size = (Get-ChildItem $model -File | Measure-Object Length -Sum).Sum
$copy = [System.Collections.Generic.List[double]]::new(); $merge = [System.Collections.Generic.List[double]]::new()
foreach ($i in 1..$Runs) {
    foreach ($target in 'copy', 'merged') { $p = Join-Path $work $target; if (Test-Path $p) { Remove-Item -Recurse -Force $p } }
    $w = [Diagnostics.Stopwatch]::StartNew(); Copy-Item -Recurse $model (Join-Path $work 'copy'); $copy.Add($w.Elapsed.TotalSeconds)
    $w.Restart(); $null = Merge-TokenAdapter -Model $model -Adapter $adapter.FullName -OutputPath (Join-Path $work 'merged'); $merge.Add($w.Elapsed.TotalSeconds)
}
function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
$c = Median $copy; $m = Median $merge
$lines = @(
    '# Merge-TokenAdapter against a plain copy'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription). Median of $Runs alternating runs; page cache warm."
    ''
    'Command: `dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench` (runs `bench/Merge.Bench.ps1`).'
    ''
    '| measure | value |'
    '| --- | ---: |'
    ('| model folder | {0:N0} bytes (llama, 32000 x 2048 embedding, untied) |' -f $size)
    '| adapter | 64 tokens, F32 rows, embedding only |'
    ('| Copy-Item -Recurse of the folder | {0:N3} s |' -f $c)
    ('| Merge-TokenAdapter (checks, copy, 64 rows written in place) | {0:N3} s |' -f $m)
    ('| merge / copy | {0:N3} x |' -f ($m / $c))
)
Set-Content -Path (Join-Path $PSScriptRoot 'results/merge.md') -Value $lines
$lines | Out-Host
