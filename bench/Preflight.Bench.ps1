<#
.SYNOPSIS
    What the checks before training cost on a Llama-3-8B-sized embedding and head (128256 x 4096, bfloat16, untied):
    Test-TrainableTokensConfig (schema, model headers, dataset tokenised, untrained-row scan of both matrices) and
    Find-UntrainedToken, against a plain read of the checkpoint; writes bench/results/preflight.md.
.DESCRIPTION
    The model (1 layer, so nearly all of its ~2.1 GB are the embedding and the head) is written once into bench/work,
    with the tiny Llama 3 model's tokenizer beside it. Each measurement is a fresh pwsh process: import the module,
    run the command once; VmHWM gives the peak resident memory, measured against the process before the command.
    Reading the same file once through a 16 MiB buffer (page cache warm) is the yardstick: the scan reads every row
    of both matrices once, so its time should be about one read of the file and its memory should not grow with it.
    Reproduce: dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench   (or this script alone after a build)
    To compare with another build in the same run, build it, copy its module folder aside and pass its manifest as
    -BaselineManifest: each run then measures both modules, alternating which goes first.
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
$examples = (Resolve-Path (Join-Path $PSScriptRoot '../examples')).Path
$work = Join-Path $PSScriptRoot 'work'
$model = Join-Path $work 'llama3-8b-embeddings'
New-Item -ItemType Directory -Force -Path $work | Out-Null
$processPath = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path $processPath -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }

if (-not (Test-Path (Join-Path $model 'tokenizer.json'))) {
    & $processPath @prefix -NoProfile -NonInteractive -Command "Import-Module '$ModuleManifest'; New-TinyModel llama '$model' -Untied -Dtype bfloat16 -VocabSize 128256 -HiddenSize 4096 -IntermediateSize 64 -NumLayers 1 -NumHeads 32 -NumKeyValueHeads 8 -Seed 7 -Force | Out-Null"
    if ($LASTEXITCODE) { throw 'Creating the model failed.' }
    foreach ($f in 'tokenizer.json', 'tokenizer_config.json') { Copy-Item (Join-Path $examples "models/tiny-llama3/$f") $model }
}
$file = Get-Item (Join-Path $model 'model.safetensors')
$run = Join-Path $work 'preflight.run.yaml'
@"
trainable_tokens:
  token_indices: [10002, 10003]
  target_modules: [embed_tokens, lm_head]
training:
  base_model: $model
  dataset: $(Join-Path $examples 'data/quickstart.jsonl')
  output_dir: $(Join-Path $work 'preflight-out')
  max_seq_length: 64
  dtype: bfloat16
"@ | Set-Content $run

function Probe([string] $Manifest, [string] $Command) {
@"
`$ErrorActionPreference = 'Stop'
function Hwm { [double](Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)').Matches[0].Groups[1].Value * 1KB }
Import-Module '$Manifest'; `$null = Get-TrainableTokensEnvironment
`$base = Hwm
`$w = [Diagnostics.Stopwatch]::StartNew()
`$out = @($Command)
'{0};{1};{2};{3}' -f `$w.Elapsed.TotalSeconds, `$base, (Hwm), `$out.Count
"@
}
# Past 2 GB ReadAllBytes cannot hold the file: read it through one 16 MiB buffer, as a scan that keeps nothing would.
$readProbe = @"
`$w = [Diagnostics.Stopwatch]::StartNew()
`$buffer = [byte[]]::new(16MB)
`$stream = [IO.File]::OpenRead('$($file.FullName)')
try { while (`$stream.Read(`$buffer, 0, `$buffer.Length) -gt 0) { } } finally { `$stream.Dispose() }
`$w.Elapsed.TotalSeconds
"@
$commands = [ordered]@{
    'Test-TrainableTokensConfig (full check)' = "Test-TrainableTokensConfig '$run'"
    'Find-UntrainedToken' = "Find-UntrainedToken -Model '$model'"
}
function Measure-Probe([string] $Manifest, [string] $Command) {
    $v = (& $processPath @prefix -NoProfile -NonInteractive -Command (Probe $Manifest $Command)).Split(';')
    if ($LASTEXITCODE) { throw "'$Command' failed." }
    [pscustomobject]@{ Seconds = [double]$v[0]; Base = [double]$v[1]; Peak = [double]$v[2]; Output = [int]$v[3] }
}

$null = & $processPath @prefix -NoProfile -NonInteractive -Command $readProbe   # warm the page cache
$modules = [ordered]@{ $Label = $ModuleManifest }
if ($BaselineManifest) { $modules = [ordered]@{ $BaselineLabel = (Resolve-Path $BaselineManifest).Path; $Label = $ModuleManifest } }
$reads = [System.Collections.Generic.List[double]]::new()
$results = @{}
foreach ($m in $modules.Keys) { foreach ($name in $commands.Keys) { $results["$m|$name"] = [System.Collections.Generic.List[object]]::new() } }
foreach ($i in 1..$Runs) {
    $reads.Add([double](& $processPath @prefix -NoProfile -NonInteractive -Command $readProbe))
    $order = @($modules.Keys); if ($i % 2 -eq 0) { [array]::Reverse($order) }
    foreach ($m in $order) { foreach ($name in $commands.Keys) { $results["$m|$name"].Add((Measure-Probe $modules[$m] $commands[$name])) } }
}
function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
$read = Median $reads
$size = $file.Length
$command = if ($BaselineManifest) {
    "``dotnet pwsh -NoProfile -File bench/Preflight.Bench.ps1 -Runs $Runs -BaselineManifest <baseline>/TrainableTokens.psd1 -BaselineLabel '$BaselineLabel' -Label '$Label'``"
} else { '`dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench` (runs `bench/Preflight.Bench.ps1`).' }
$lines = @(
    '# Checks before training on a Llama-3-8B-sized embedding and head'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription). Median of $Runs fresh processes each; page cache warm."
    ''
    "Command: $command"
    ''
    ('Model: llama, vocabulary 128256, hidden 4096, bfloat16, untied head, 1 layer: model.safetensors {0:N0} bytes ({1:N2} GiB), nearly all of it the two [128256, 4096] matrices. The run trains 2 token rows of both, on the quickstart data.' -f $size, ($size / 1GB))
    ''
    '| measure | module | seconds | x plain read | peak RSS above the imported module |'
    '| --- | --- | ---: | ---: | ---: |'
    ('| reading model.safetensors once (16 MiB buffer) | | {0:N2} | 1.00 | (the file: {1:N0} MiB) |' -f $read, ($size / 1MB))
)
foreach ($name in $commands.Keys) {
    foreach ($m in $modules.Keys) {
        $r = $results["$m|$name"]
        $lines += '| {0} | {1} | {2:N2} | {3:N2} | {4:N0} MiB |' -f $name, $m, (Median $r.Seconds), ((Median $r.Seconds) / $read), ((Median ($r | ForEach-Object { $_.Peak - $_.Base })) / 1MB)
    }
}
$lines += @(
    ''
    'The full check reads every row of the embedding and the head once, in chunks (the untrained-row scan); the memory it'
    'adds stays far below the file size (it never holds a matrix). Its time is the scan''s: reading, widening bfloat16 to'
    'float32, row norms and a hash per row, on one core of this 2-core machine.'
)
Set-Content -Path (Join-Path $PSScriptRoot 'results/preflight.md') -Value $lines
$lines | Out-Host
