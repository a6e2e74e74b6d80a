<#
.SYNOPSIS
    Time per new token of Invoke-TokenGeneration with the KV cache against the no-cache loop (-NoCache: the whole
    sequence again for every token), at 32, 256 and 1024 tokens of prompt; writes bench/results/generation.md.
.DESCRIPTION
    A llama-shaped random model (vocab 32000, hidden 512, 8 layers, 8 heads, intermediate 1376, 4096 positions,
    ~58M float32 parameters) is written once into bench/work. For each prompt length, cached and uncached greedy runs
    of -NewTokens tokens alternate, -Runs times each, in this one process (model loaded per run, as a user's call does);
    the time per new token is GenerationSeconds / (GeneratedTokens - 1), i.e. after the prompt's forward, and the
    medians are compared. Both loops must give the same ids; the table says whether they did.
    Reproduce: dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench   (or this file alone after ./build.ps1)
#>
param([string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'), [int] $Runs = 3, [int] $NewTokens = 16,
    [int[]] $PromptLengths = @(32, 256, 1024))
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest -Force
$work = Join-Path $PSScriptRoot 'work'
$model = Join-Path $work 'llama-512x8'
if (-not (Test-Path (Join-Path $model 'model.safetensors'))) {
    $null = New-TinyModel llama $model -VocabSize 32000 -HiddenSize 512 -IntermediateSize 1376 -NumLayers 8 -NumHeads 8 -NumKeyValueHeads 8 -MaxPositions 4096 -Seed 7 -Force
}
function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }
$loadBefore = (Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ' | Select-Object -First 3
$random = [System.Random]::new(12)
$rows = foreach ($length in $PromptLengths) {
    $ids = [long[]](1..$length | ForEach-Object { $random.Next(3, 31990) })
    $cached = [System.Collections.Generic.List[double]]::new(); $uncached = [System.Collections.Generic.List[double]]::new()
    $prefill = [System.Collections.Generic.List[double]]::new()
    $same = $true
    foreach ($i in 1..$Runs) {
        # Alternate which goes first, so neither always runs on a warmer machine.
        $order = if ($i % 2) { $true, $false } else { $false, $true }
        $results = @{}
        foreach ($useCache in $order) {
            $r = Invoke-TokenGeneration -Model $model -InputId $ids -MaxNewTokens $NewTokens -EosTokenId 31999 -NoCache:(-not $useCache)
            $perToken = $r.GenerationSeconds / [math]::Max(1, $r.GeneratedTokens - 1)
            if ($useCache) { $cached.Add($perToken); $prefill.Add($r.PromptSeconds) } else { $uncached.Add($perToken) }
            $results[$useCache] = $r
        }
        if ((@($results[$true].GeneratedIds) -join ',') -ne (@($results[$false].GeneratedIds) -join ',')) { $same = $false }
    }
    $c = Median $cached; $u = Median $uncached
    Write-Host ("prompt {0,5}: cached {1,8:N2} ms/token, no cache {2,9:N2} ms/token, {3,7:N1}x" -f $length, (1000 * $c), (1000 * $u), ($u / $c))
    [pscustomobject]@{ Length = $length; Cached = $c; Uncached = $u; Prefill = (Median $prefill); Same = $same }
}
$loadAfter = (Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ' | Select-Object -First 3
$lines = @(
    '# Generation: time per new token with the KV cache against the no-cache loop'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription), float32 on cpu."
    "Model: random llama, vocab 32000, hidden 512, 8 layers, 8 heads (no GQA), intermediate 1376, 4096 positions (~58M parameters)."
    "Load average (1, 5, 15 min) before: $($loadBefore -join ', '); after: $($loadAfter -join ', ') (the machine's 2 cores are shared, so absolute times vary; the ratio is what the alternating runs make comparable)."
    "Greedy, $NewTokens new tokens per run; time per token after the prompt's forward (GenerationSeconds / (GeneratedTokens - 1)); median of $Runs alternating runs of each loop, in one process."
    ''
    'Command: `dotnet pwsh -NoProfile -File bench/Generation.Bench.ps1` (also run by `./build.ps1 -Task Bench`).'
    ''
    '| prompt tokens | with cache (ms/token) | no cache (ms/token) | no cache / cache | prompt forward, cached run (s) | same ids |'
    '| ---: | ---: | ---: | ---: | ---: | :---: |'
)
foreach ($row in $rows) {
    $lines += '| {0} | {1:N2} | {2:N2} | {3:N1}x | {4:N3} | {5} |' -f $row.Length, (1000 * $row.Cached), (1000 * $row.Uncached), ($row.Uncached / $row.Cached), $row.Prefill, $(if ($row.Same) { 'yes' } else { 'NO' })
}
$lines += ''
$lines += 'With the cache a new token runs one position through the layers and attends to the held keys, so its cost grows only with the attention over the prefix; without it every token runs the whole prefix again.'
Set-Content -Path (Join-Path $PSScriptRoot 'results/generation.md') -Value $lines
$lines | Out-Host
