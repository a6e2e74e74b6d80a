<#
.SYNOPSIS
    One training step (forward + backward + AdamW) of LoRA alone, LoRA + Trainable Tokens, and LoRA with the
    embedding in modules_to_save (PEFT's alternative for new tokens), against the activation-only floor, on a
    256000-token vocabulary (and 32000, to show what grows with it). Writes bench/results/lora.md and lora.json.
.DESCRIPTION
    Each (vocabulary, k, dtype) runs in a fresh process (bench/Lora, which drives Core directly) with the same
    settings; within it the modes run one after the other, lora and tokens twice, interleaved, each for -Steps
    measured steps after one warm-up. Peak memory is the process's VmHWM during the measured steps (reset through
    /proc/self/clear_refs). LoRA + tokens and LoRA + modules_to_save are the LoRA tuner's own trainable_token_indices and
    modules_to_save (ensure_weight_tying, so the tied head follows the copy), as PEFT's LoraConfig builds them.
    Reproduce: dotnet pwsh -NoProfile -File ./bench/Lora.Bench.ps1   (or build.ps1 -Task Bench, which runs every bench)
#>
# -ModuleManifest is what build.ps1 -Task Bench passes every bench; this one drives Core directly and does not use it.
param([string] $ModuleManifest, [int] $Steps = 3, [int] $Seq = 64, [int] $Hidden = 256, [int] $Layers = 2, [int] $Rank = 8, [string[]] $Dtype = @('float32'), [int[]] $TokenCount = @(2, 64))
$ErrorActionPreference = 'Stop'
& dotnet build (Join-Path $PSScriptRoot 'Lora/Lora.csproj') -c Release -v quiet -nologo | Out-Host
if ($LASTEXITCODE) { throw 'Building bench/Lora failed.' }
$exe = Join-Path $PSScriptRoot 'Lora/bin/Release/net10.0/linux-x64/Lora'
$command = "dotnet pwsh -NoProfile -File ./bench/Lora.Bench.ps1 -Steps $Steps -Seq $Seq -Hidden $Hidden -Layers $Layers -Rank $Rank -Dtype $($Dtype -join ',') -TokenCount $($TokenCount -join ',')"

$rows = [System.Collections.Generic.List[object]]::new()
$configs = foreach ($d in $Dtype) { foreach ($k in $TokenCount) {
    @{ Vocab = 256000; K = $k; Dtype = $d; Modes = 'lora,tokens,saved,floor,lora,tokens' }
    @{ Vocab = 32000; K = $k; Dtype = $d; Modes = 'lora,tokens,saved,floor,lora,tokens' }
} }
foreach ($c in $configs) {
    Write-Host ("vocab {0}, k {1}, {2}: modes {3}" -f $c.Vocab, $c.K, $c.Dtype, $c.Modes)
    $lines = & $exe --vocab $c.Vocab --k $c.K --dtype $c.Dtype --modes $c.Modes --steps $Steps --seq $Seq --hidden $Hidden --layers $Layers --r $Rank
    if ($LASTEXITCODE) { throw "bench/Lora failed for $($c | ConvertTo-Json -Compress)" }
    foreach ($line in $lines) { $rows.Add(($line | ConvertFrom-Json)) }
}

function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
function Get-Stat($vocab, $k, $dtype, $mode) {
    $r = @($rows | Where-Object { $_.vocab -eq $vocab -and $_.k -eq $k -and $_.dtype -eq $dtype -and $_.mode -eq $mode })
    if (-not $r) { return $null }
    [pscustomobject]@{ Time = (Median $r.median_step_s); Peak = ($r.peak_rss_bytes | Measure-Object -Maximum).Maximum; Trainable = $r[0].trainable_parameters }
}
$mib = 1MB
$lines = @(
    '# One training step: LoRA alone, LoRA + Trainable Tokens, LoRA + the embedding in modules_to_save'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores ($((Get-Content /proc/cpuinfo | Select-String 'model name' | Select-Object -First 1).Line.Split(':')[1].Trim())), $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription), libtorch 2.10 CPU, on a machine shared with other builds (times are noisy; peaks are not)."
    ''
    "Command: ``$command`` (runs ``bench/Lora``, which drives Core directly)."
    "Model: gemma architecture, vocabulary x $Hidden tied embedding, $Layers layers (4 heads, 2 kv heads, head_dim $($Hidden / 4), MLP $(4 * $Hidden)); batch 1 x $Seq tokens, half of them trained tokens; loss: next-token cross-entropy; AdamW."
    "Modes: lora: LoRA r=$Rank, alpha $(2 * $Rank), all-linear, the embedding frozen; tokens: the same LoRA plus Trainable Tokens on k rows (PEFT's ``LoraConfig(trainable_token_indices=...)``, tied head included); saved: the same LoRA plus the embedding in modules_to_save (a trainable copy of the whole V x d matrix, the tied head on it); floor: nothing trainable, gradients for activations only."
    "Time: median seconds per step ($Steps measured steps after a warm-up; lora and tokens measured twice, interleaved). Peak: the process's peak RSS during the measured steps (model weights included, the same for every mode)."
    ''
    '| vocab | k | dtype | mode | trainable values | step (s) | peak RSS (MiB) | peak - lora (MiB) | step / lora |'
    '| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |'
)
foreach ($d in $Dtype) { foreach ($k in $TokenCount) { foreach ($vocab in 256000, 32000) {
    $lora = Get-Stat $vocab $k $d 'lora'
    foreach ($mode in 'lora', 'tokens', 'saved', 'floor') {
        $s = Get-Stat $vocab $k $d $mode
        if (-not $s) { continue }
        $lines += '| {0} | {1} | {2} | {3} | {4} | {5:N3} | {6:N1} | {7:N1} | {8:N3} |' -f $vocab, $k, $d, $mode, $s.Trainable, $s.Time, ($s.Peak / $mib), (($s.Peak - $lora.Peak) / $mib), ($s.Time / $lora.Time)
    }
} } }
$lines += @('', '## The checks', '')
foreach ($d in $Dtype) { foreach ($k in $TokenCount) {
    $bytes = if ($d -eq 'float32') { 4 } else { 2 }
    $l = Get-Stat 256000 $k $d 'lora'; $t = Get-Stat 256000 $k $d 'tokens'; $s = Get-Stat 256000 $k $d 'saved'
    $l32 = Get-Stat 32000 $k $d 'lora'; $t32 = Get-Stat 32000 $k $d 'tokens'; $s32 = Get-Stat 32000 $k $d 'saved'
    $vd = 256000 * $Hidden * $bytes
    $lines += ('- k={0}, {1}: tokens - lora peak = {2:N1} MiB at 256000, {3:N1} MiB at 32000 (V x d x bytes at 256000 is {4:N0} MiB) -> nothing that grows with the vocabulary: {5}' -f $k, $d, (($t.Peak - $l.Peak) / $mib), (($t32.Peak - $l32.Peak) / $mib), ($vd / $mib), $(if ([math]::Abs($t.Peak - $l.Peak) -lt 0.25 * $vd) { 'met' } else { 'NOT met' }))
    $lines += ('- k={0}, {1}: tokens / lora step = {2:N3} at 256000, {3:N3} at 32000' -f $k, $d, ($t.Time / $l.Time), ($t32.Time / $l32.Time))
    $lines += ('- k={0}, {1}: saved - lora peak = {2:N1} MiB = {3:N2} x V x d x bytes at 256000 ({4:N1} MiB at 32000); saved / lora step = {5:N3}' -f $k, $d, (($s.Peak - $l.Peak) / $mib), (($s.Peak - $l.Peak) / $vd), (($s32.Peak - $l32.Peak) / $mib), ($s.Time / $l.Time))
} }
$lines += @(
    ''
    'Reading it: Trainable Tokens adds k x d trained values and their optimizer state, and its forward substitutes the k'
    'rows where they occur, so its peak stays at LoRA''s at either vocabulary. modules_to_save trains a copy of the whole'
    'matrix: the copy, its V x d gradient and AdamW''s two V x d states (with the lookup''s and the head''s V x d'
    'temporaries, about 6 x V x d x bytes here), all of it growing with the vocabulary. Peaks are stable from run to'
    'run; step times on a shared machine are not (lora against floor, which differ only by the small LoRA pairs, is a'
    'gauge of the noise): rerun on an idle machine before reading step ratios.'
)
$rows | ConvertTo-Json | Set-Content (Join-Path $PSScriptRoot 'results/lora.json')
Set-Content -Path (Join-Path $PSScriptRoot 'results/lora.md') -Value $lines
$lines | Out-Host
