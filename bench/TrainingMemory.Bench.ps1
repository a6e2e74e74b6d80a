<#
.SYNOPSIS
    Training memory on CPU: peak resident memory and step time of Start-TokenTraining with gradient checkpointing,
    bfloat16 compute and the chunked loss each on and off, against an Invoke-TokenModel forward over the same tokens.
    Writes bench/results/training-memory.md.
.DESCRIPTION
    Two models with random weights, written once into bench/work/training-memory (gitignored) by New-TinyModel with the
    tiny Llama 3 example's tokenizer (the real Llama 3 tokenizer, trimmed):
    - target: vocabulary 128,256, 8 layers, hidden 256 (4 heads, 2 kv heads, MLP 1024), tied; batch 2 x 512 tokens;
    - 1b: Llama 3.2 1B's shape (tests/fixtures/configs/llama-3.2-1b: hidden 2048, 16 layers, 32 heads / 8 kv heads,
      MLP 8192, vocabulary 128,256, tied; 1.24B parameters, bfloat16 files); batch 1 x 512 tokens.
    Each measurement is a fresh pwsh process: import the module, start libtorch, then one Start-TokenTraining run of
    -Steps steps (logging every step) or one Invoke-TokenModel forward; VmHWM from /proc/self/status at the end is the
    run's peak resident memory (weights included). Step time: the median of the steps after the first, from
    metrics.jsonl's elapsed_seconds. Every run trains the same two token rows on the same data with the same seed.
    "whole logits" runs use -BeforeManifest, the module built from the commit before the chunked loss (it computed the
    loss over the whole [batch, seq, vocab] logits and has no gradient_checkpointing; without -BeforeManifest, commit
    -BeforeCommit is built once into bench/work); the others use -ModuleManifest.
    The two targets' adapters are compared row by row (checkpointing on and off must agree within 1e-6).
    Reproduce (after ./build.ps1): dotnet pwsh -NoProfile -File bench/TrainingMemory.Bench.ps1 -Part target
    and -Part 1b (each half writes its own results file; the 1b half needs about 12 GB of free memory, 3 GB of disk and
    about 20 minutes on 2 cores). -Part all runs both.
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'),
    [string] $BeforeManifest,
    [string] $BeforeCommit = 'c42e7a2',
    [ValidateSet('target', '1b', 'all')] [string] $Part = 'all',
    [int] $Steps = 4,
    # Steps of each 1B-shaped run (the first is a warm-up, so at least 2).
    [int] $StepsLarge = 2
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$root = Split-Path $PSScriptRoot -Parent
$work = Join-Path $PSScriptRoot 'work/training-memory'
New-Item -ItemType Directory -Force -Path $work | Out-Null
$processPath = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path $processPath -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
# Without -BeforeManifest, the commit before is built once into bench/work (its sources from git, its own build).
if (-not $BeforeManifest) {
    $before = Join-Path $work "before-$BeforeCommit"
    $BeforeManifest = Join-Path $before 'out/TrainableTokens/TrainableTokens.psd1'
    if (-not (Test-Path $BeforeManifest)) {
        New-Item -ItemType Directory -Force -Path $before | Out-Null
        & git -C $root archive $BeforeCommit | tar -x -C $before
        if ($LASTEXITCODE) { throw "Extracting commit $BeforeCommit failed." }
        Push-Location $before
        try {
            & dotnet tool restore | Out-Null
            & $processPath @prefix -NoProfile -File ./build.ps1 | Out-Host
            if ($LASTEXITCODE) { throw "Building commit $BeforeCommit failed." }
        }
        finally { Pop-Location }
    }
}
$BeforeManifest = (Resolve-Path $BeforeManifest).Path
$memAvailable = [double](Select-String -Path /proc/meminfo -Pattern '^MemAvailable:\s+(\d+)').Matches[0].Groups[1].Value * 1KB
if ($Part -eq 'all' -and $memAvailable -lt 12GB) {
    Write-Warning "The 1B-shaped half is skipped: it needs about 12 GB of free memory; $([math]::Round($memAvailable / 1GB, 1)) GB is available."
    $Part = 'target'
}
$tokenizer = Join-Path $root 'examples/models/tiny-llama3'
$tokens = 10002, 10003

$shapes = [ordered]@{
    target = @{ VocabSize = 128256; HiddenSize = 256; IntermediateSize = 1024; NumLayers = 8; NumHeads = 4; NumKeyValueHeads = 2; Batch = 2; Dtype = 'float32'
        Describe = 'vocabulary 128,256, 8 layers, hidden 256 (4 heads, 2 kv heads, MLP 1024), tied' }
    '1b' = @{ VocabSize = 128256; HiddenSize = 2048; IntermediateSize = 8192; NumLayers = 16; NumHeads = 32; NumKeyValueHeads = 8; Batch = 1; Dtype = 'bfloat16'
        Describe = 'Llama 3.2 1B''s shape: vocabulary 128,256, 16 layers, hidden 2048 (32 heads, 8 kv heads, MLP 8192), tied' }
}

# The data: 8 examples of about 700 tokens of plain words (cut to 512), each with the two trained tokens in it.
$data = Join-Path $work 'train.jsonl'
$words = 'the model learns what each new token means while the rest of the vocabulary stays frozen in place and only two rows move' -split ' '
$random = [System.Random]::new(7)
$lines = foreach ($i in 1..8) {
    $text = (1..600 | ForEach-Object { if ($_ % 50 -eq 0) { '<|reserved_special_token_0|> <|reserved_special_token_1|>' } else { $words[$random.Next($words.Count)] } }) -join ' '
    @{ text = $text } | ConvertTo-Json -Compress
}
Set-Content -Path $data -Value $lines

function Get-Model([string] $name) {
    $s = $shapes[$name]
    $folder = Join-Path $work $name
    if (-not (Test-Path (Join-Path $folder 'config.json'))) {
        $script = "Import-Module '$ModuleManifest'; `$null = New-TinyModel llama '$folder' -Seed 1 -Dtype $($s.Dtype) -Tied -VocabSize $($s.VocabSize) -HiddenSize $($s.HiddenSize) -IntermediateSize $($s.IntermediateSize) -NumLayers $($s.NumLayers) -NumHeads $($s.NumHeads) -NumKeyValueHeads $($s.NumKeyValueHeads) -MaxPositions 2048 -Tokenizer '$tokenizer'"
        & $processPath @prefix -NoProfile -NonInteractive -Command $script | Out-Host
        if ($LASTEXITCODE) { throw "New-TinyModel for $name failed." }
    }
    $folder
}

function Status { 'function Status([string] $key) { [double](Select-String -Path /proc/self/status -Pattern "^${key}:\s+(\d+)").Matches[0].Groups[1].Value * 1KB }' }

function Invoke-Training([string] $name, [string] $label, [string] $module, [string] $dtype, [bool] $checkpointing, [bool] $hasSetting, [int] $Steps = $script:Steps) {
    $s = $shapes[$name]
    $out = Join-Path $work "out-$name-$label"
    $run = Join-Path $work "run-$name-$label.yaml"
    $yaml = @(
        'trainable_tokens:'
        "  token_indices: [$($tokens -join ', ')]"
        'training:'
        "  base_model: $(Get-Model $name)"
        "  dataset: $data"
        "  output_dir: $out"
        '  overwrite_output_dir: true'
        "  max_steps: $Steps"
        "  per_device_train_batch_size: $($s.Batch)"
        '  max_seq_length: 512'
        '  learning_rate: 0.001'
        '  lr_scheduler_type: constant'
        '  logging_steps: 1'
        '  save_steps: 100000'
        '  seed: 3'
        "  dtype: $dtype"
    )
    if ($hasSetting) { $yaml += "  gradient_checkpointing: $($checkpointing.ToString().ToLowerInvariant())" }
    Set-Content -Path $run -Value $yaml
    $probe = @"
`$ErrorActionPreference = 'Stop'
$(Status)
Import-Module '$module'; `$null = Get-TrainableTokensEnvironment
`$base = Status VmHWM
`$r = Start-TokenTraining -Path '$run' -Confirm:`$false
'{0};{1};{2};{3}' -f `$base, (Status VmHWM), `$r.FirstLoss, `$r.FinalLoss
"@
    Write-Host "$name / $label"
    $output = @(& $processPath @prefix -NoProfile -NonInteractive -Command $probe)
    if ($LASTEXITCODE) { $output | Out-Host; throw "Training $name / $label failed." }
    $v = $output[-1].Split(';')
    $entries = Get-Content (Join-Path $out 'metrics.jsonl') | ConvertFrom-Json | Where-Object { $null -ne $_.loss }
    $elapsed = @($entries | Sort-Object step | ForEach-Object elapsed_seconds)
    $times = for ($i = 1; $i -lt $elapsed.Count; $i++) { $elapsed[$i] - $elapsed[$i - 1] }
    [pscustomobject]@{
        Model = $name; Label = $label; Dtype = $dtype; Checkpointing = $checkpointing; Chunked = $hasSetting
        Base = [double]$v[0]; Peak = [double]$v[1]; FirstLoss = [double]$v[2]; FinalLoss = [double]$v[3]
        FirstStep = $elapsed[0]; Step = (Median $times); Output = $out
    }
}

function Invoke-Forward([string] $name, [int] $count, [string] $dtype) {
    $ids = (0..($count - 1) | ForEach-Object { ($_ * 7919 + 13) % 128000 }) -join ','
    $probe = @"
`$ErrorActionPreference = 'Stop'
$(Status)
Import-Module '$ModuleManifest'; `$null = Get-TrainableTokensEnvironment
`$base = Status VmHWM
`$r = Invoke-TokenModel -Model '$(Get-Model $name)' -InputId @($ids) -Dtype $dtype -OutFile '$work/forward.safetensors' -Force
'{0};{1};{2}' -f `$base, (Status VmHWM), `$r.ForwardSeconds
"@
    Write-Host "$name / Invoke-TokenModel $count tokens"
    $output = @(& $processPath @prefix -NoProfile -NonInteractive -Command $probe)
    if ($LASTEXITCODE) { $output | Out-Host; throw "Invoke-TokenModel on $name failed." }
    Remove-Item "$work/forward.safetensors" -ErrorAction SilentlyContinue
    $v = $output[-1].Split(';')
    [pscustomobject]@{ Model = $name; Label = "Invoke-TokenModel, $count tokens"; Dtype = $dtype; Base = [double]$v[0]; Peak = [double]$v[1]; Forward = [double]$v[2] }
}

function Median([double[]] $x) { if (-not $x) { return [double]::NaN }; $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }

# The largest difference between two adapters' rows: adapter_model.safetensors read directly (an 8-byte header length,
# the JSON header, then the F32 data), the same keys in both.
function Read-Adapter([string] $folder) {
    $bytes = [System.IO.File]::ReadAllBytes((Join-Path $folder 'adapter_model.safetensors'))
    $length = [BitConverter]::ToInt64($bytes, 0)
    $header = [System.Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
    $tensors = @{}
    foreach ($key in $header.Keys | Where-Object { $_ -ne '__metadata__' }) {
        $t = $header[$key]
        if ($t.dtype -ne 'F32') { throw "$folder holds $key as $($t.dtype), not F32." }
        $from = 8 + $length + $t.data_offsets[0]
        $count = ($t.data_offsets[1] - $t.data_offsets[0]) / 4
        $tensors[$key] = [float[]]@(for ($i = 0; $i -lt $count; $i++) { [BitConverter]::ToSingle($bytes, $from + 4 * $i) })
    }
    $tensors
}
function Compare-Adapter([string] $a, [string] $b) {
    $x = Read-Adapter $a; $y = Read-Adapter $b
    $max = 0.0
    foreach ($key in $x.Keys) { for ($i = 0; $i -lt $x[$key].Count; $i++) { $max = [math]::Max($max, [math]::Abs($x[$key][$i] - $y[$key][$i])) } }
    $max
}

$gib = 1GB
$runs = [System.Collections.Generic.List[object]]::new()
$report = [System.Collections.Generic.List[string]]::new()
$memTotal = [double](Select-String -Path /proc/meminfo -Pattern '^MemTotal:\s+(\d+)').Matches[0].Groups[1].Value * 1KB
$report.AddRange([string[]]@(
    '# Training memory: chunked loss, gradient checkpointing, bfloat16 with float32 rows'
    ''
    "Recorded $(Get-Date -AsUTC -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores (shared), $('{0:N1}' -f ($memTotal / 1GB)) GiB memory, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription), libtorch 2.10 CPU. One fresh process per row, run one after the other in one sitting."
    ''
    "Command: ``dotnet pwsh -NoProfile -File bench/TrainingMemory.Bench.ps1 -Part $Part -Steps $Steps -StepsLarge $StepsLarge -BeforeManifest <commit $BeforeCommit built>/out/TrainableTokens/TrainableTokens.psd1``"
    ''
    "Each training row is one ``Start-TokenTraining`` run of $Steps steps ($StepsLarge for the 1B shape) (AdamW on token rows $($tokens -join ' and '), max_seq_length 512, the same data and seed); peak is the process's VmHWM at the end (weights, libtorch and the module included); step is the median of the steps after the first (the first, a warm-up, is in the json). ""whole logits"" is the module of commit $BeforeCommit, before this change: the loss over the whole [batch, seq, vocab] logits, no gradient checkpointing. ""chunked"" computes the loss 130 positions at a time (64 MiB of float32 logits per chunk)."
))

function Add-Table([string] $name, [object[]] $rows, [object] $reference) {
    $s = $shapes[$name]
    $report.Add('')
    $report.Add("## $($s.Describe); batch $($s.Batch) x 512 tokens")
    $report.Add('')
    $report.Add('| run | dtype | loss | gradient_checkpointing | peak RSS (GiB) | peak / first row | first step (s) | step (s) | step / first row | loss first -> last |')
    $report.Add('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |')
    $first = $rows[0]
    foreach ($r in $rows) {
        $report.Add(('| {0} | {1} | {2} | {3} | {4:N2} | {5:N2} | {10:N2} | {6:N2} | {7:N2} | {8:N4} -> {9:N4} |' -f $r.Label, $r.Dtype, $(if ($r.Chunked) { 'chunked' } else { 'whole logits' }),
            $(if ($r.Checkpointing) { 'true' } else { 'false' }), ($r.Peak / $gib), ($r.Peak / $first.Peak), $r.Step, ($r.Step / $first.Step), $r.FirstLoss, $r.FinalLoss, $r.FirstStep))
    }
    if ($reference) {
        $report.Add(('| {0} | {1} | | | {2:N2} | {3:N2} | | forward {4:N2} | | |' -f $reference.Label, $reference.Dtype, ($reference.Peak / $gib), ($reference.Peak / $first.Peak), $reference.Forward))
    }
}

if ($Part -in 'target', 'all') {
    $rows = @()
    $rows += Invoke-Training 'target' 'before' $BeforeManifest 'float32' $false $false
    $rows += Invoke-Training 'target' 'after' $ModuleManifest 'float32' $false $true
    $rows += Invoke-Training 'target' 'after, checkpointing' $ModuleManifest 'float32' $true $true
    $forward = Invoke-Forward 'target' 1024 'float32'
    Add-Table 'target' $rows $forward
    $plain = $rows | Where-Object { $_.Chunked -and -not $_.Checkpointing }
    $checkpointed = $rows | Where-Object { $_.Checkpointing }
    $difference = Compare-Adapter $plain.Output $checkpointed.Output
    $report.Add('')
    $report.Add(('Target: a training run with gradient_checkpointing peaks no higher than an Invoke-TokenModel forward over the same 1,024 tokens: {0} ({1:N2} GiB against {2:N2} GiB, {3:N2}x).' -f $(if ($checkpointed.Peak -le $forward.Peak) { 'met' } else { 'NOT met' }), ($checkpointed.Peak / $gib), ($forward.Peak / $gib), ($checkpointed.Peak / $forward.Peak)))
    $report.Add(('Same adapter with and without checkpointing, within 1e-6: {0} (largest difference of a row value {1:E2}).' -f $(if ($difference -le 1e-6) { 'met' } else { 'NOT met' }), $difference))
    $runs.AddRange([object[]]$rows)
}

if ($Part -in '1b', 'all') {
    $rows = @()
    # bfloat16 first (the model's own dtype): whole logits, chunked, chunked + checkpointing; then float32 compute.
    $rows += Invoke-Training '1b' 'before, bfloat16' $BeforeManifest 'bfloat16' $false $false -Steps $StepsLarge
    $rows += Invoke-Training '1b' 'after, bfloat16' $ModuleManifest 'bfloat16' $false $true -Steps $StepsLarge
    $rows += Invoke-Training '1b' 'after, bfloat16, checkpointing' $ModuleManifest 'bfloat16' $true $true -Steps $StepsLarge
    $rows += Invoke-Training '1b' 'after, float32' $ModuleManifest 'float32' $false $true -Steps $StepsLarge
    $forward = Invoke-Forward '1b' 512 'bfloat16'
    Add-Table '1b' $rows $forward
    $runs.AddRange([object[]]$rows)
}
$runs | ConvertTo-Json | Set-Content (Join-Path $PSScriptRoot "results/training-memory-$Part.json")
Set-Content -Path (Join-Path $PSScriptRoot "results/training-memory-$Part.md") -Value $report
$report | Out-Host
