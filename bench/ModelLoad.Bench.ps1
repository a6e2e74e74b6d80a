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
    To compare with another build in the same run (for example the last commit's), build it, copy its module folder
    aside and pass its manifest as -BaselineManifest: each run then loads with both modules, alternating which goes
    first, and the table gets a column for each.
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'),
    [int] $Runs = 3,
    [string] $BaselineManifest,
    [string] $BaselineLabel = 'baseline',
    [string] $Label = 'this build'
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

function Probe([string] $Manifest) {
@"
`$ErrorActionPreference = 'Stop'
function Hwm { [double](Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)').Matches[0].Groups[1].Value * 1KB }
Import-Module '$Manifest'; `$null = Get-TrainableTokensEnvironment
`$base = Hwm
`$w = [Diagnostics.Stopwatch]::StartNew()
`$r = Invoke-TokenModel -Model '$model' -InputId 1, 2, 3, 4 -OutFile '$work/out.safetensors' -Force
'{0};{1};{2};{3}' -f `$r.LoadSeconds, `$w.Elapsed.TotalSeconds, `$base, (Hwm)
"@
}
# The yardstick: read the whole file into freshly allocated memory of its size (so the page faults of new memory
# count, as they do for the load), with nothing else.
$readProbe = @"
`$w = [Diagnostics.Stopwatch]::StartNew()
`$bytes = [IO.File]::ReadAllBytes('$($file.FullName)')
`$w.Elapsed.TotalSeconds
"@

$null = & $processPath @prefix -NoProfile -NonInteractive -Command $readProbe   # warm the page cache
$modules = [ordered]@{ $Label = (Resolve-Path $ModuleManifest).Path }
if ($BaselineManifest) { $modules = [ordered]@{ $BaselineLabel = (Resolve-Path $BaselineManifest).Path; $Label = $modules[$Label] } }
function Measure-Load([string] $Manifest) {
    $v = (& $processPath @prefix -NoProfile -NonInteractive -Command (Probe $Manifest)).Split(';')
    if ($LASTEXITCODE) { throw "The load with $Manifest failed." }
    [pscustomobject]@{ Load = [double]$v[0]; Total = [double]$v[1]; Base = [double]$v[2]; Peak = [double]$v[3] }
}
$reads = [System.Collections.Generic.List[double]]::new()
$loads = @{}; foreach ($name in $modules.Keys) { $loads[$name] = [System.Collections.Generic.List[object]]::new() }
foreach ($i in 1..$Runs) {
    $reads.Add([double](& $processPath @prefix -NoProfile -NonInteractive -Command $readProbe))
    # Alternate which module goes first, so neither always meets the warmer cache.
    $order = @($modules.Keys); if ($i % 2 -eq 0) { [array]::Reverse($order) }
    foreach ($name in $order) { $loads[$name].Add((Measure-Load $modules[$name])) }
}
function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
$size = $file.Length
$read = Median $reads
$names = @($modules.Keys)
function Row([string] $measure, [scriptblock] $value) {
    '| {0} | {1} |' -f $measure, (($names | ForEach-Object { & $value $loads[$_] }) -join ' | ')
}
$command = if ($BaselineManifest) {
    "``dotnet pwsh -NoProfile -File bench/ModelLoad.Bench.ps1 -Runs $Runs -BaselineManifest <baseline>/TrainableTokens.psd1 -BaselineLabel '$BaselineLabel' -Label '$Label'``"
} else { '`dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench` (runs `bench/ModelLoad.Bench.ps1`).' }
$lines = @(
    '# Model load: a ~1 GB checkpoint'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription). Median of $Runs fresh processes per module; page cache warm."
    ''
    "Command: $command"
    ''
    ('| measure | {0} |' -f ($names -join ' | '))
    ('| --- |' + (' ---: |' * $names.Count))
    (Row 'checkpoint size' { '{0:N0} bytes ({1:N2} GiB)' -f $size, ($size / 1GB) })
    (Row 'load (config + every tensor into native memory)' { param($r) '{0:N2} s' -f (Median $r.Load) })
    (Row 'File.ReadAllBytes of the same file (into fresh memory)' { '{0:N2} s' -f $read })
    (Row 'load / plain read' { param($r) '{0:N2} x' -f ((Median $r.Load) / $read) })
    (Row 'Invoke-TokenModel in all (load, forward of 4 tokens, write outputs)' { param($r) '{0:N2} s' -f (Median $r.Total) })
    (Row 'peak RSS before loading (module + libtorch)' { param($r) '{0:N0} MiB' -f ((Median $r.Base) / 1MB) })
    (Row 'peak RSS after loading' { param($r) '{0:N0} MiB' -f ((Median $r.Peak) / 1MB) })
    (Row '(peak - before) / checkpoint size' { param($r) '{0:N2} x' -f (((Median $r.Peak) - (Median $r.Base)) / $size) })
)
$lines += @('', 'A ratio near 1.0 means the weights are held once: nothing is staged in managed memory or kept mapped twice.')
Set-Content -Path (Join-Path $PSScriptRoot 'results/model-load.md') -Value $lines
$lines | Out-Host
