<#
.SYNOPSIS
    The TrainableTokens demo: what a new user runs first.
.DESCRIPTION
    Imports the built module and reports the environment; then adds <think> and </think> to a tiny model that carries
    the real Llama 3 tokenizer of examples/models/tiny-llama3, shows that the model does not generate <think> after a
    question, trains the two new rows (embedding and output head) with a progress bar, shows that it now does, merges
    the adapter and shows that the merged model generates the same text. Under 2 minutes on 2 cores.
#>
param([string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'))
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest

Write-Host '== 1. The machine' -ForegroundColor Cyan
$environment = Get-TrainableTokensEnvironment
$environment | Format-List | Out-Host
if (-not $environment.ComputeCheckPassed) { throw 'libtorch did not compute a matrix product correctly on this machine.' }

$work = Join-Path ([System.IO.Path]::GetTempPath()) "trainabletokens-demo-$PID"
New-Item -ItemType Directory -Path $work | Out-Null
try {
    Write-Host '== 2. A tiny model with the real Llama 3 tokenizer, and two new tokens' -ForegroundColor Cyan
    # The tiny Llama 3 model of examples/models, rebuilt with an output head of its own (untied), so that the head's
    # rows for the new tokens train beside their embedding rows. Deterministic from the seed.
    $base = New-TinyModel llama (Join-Path $work 'tiny') -Tokenizer (Join-Path $PSScriptRoot 'models/tiny-llama3') -Untied `
        -HiddenSize 32 -IntermediateSize 64 -NumLayers 2 -Seed 1
    $base | Format-List Path, ModelType, VocabSize, HiddenSize | Out-Host
    # New rows start from the meaning of words; existing rows stay bit for bit.
    $added = Add-TokenizerToken -Model $base.Path -Token '<think>', '</think>' -Special -InitFrom Text -InitText 'begin reasoning', 'end reasoning' -OutputPath (Join-Path $work 'with-think')
    $added | Format-Table Token, Id, Added, TokenizerSize, VocabSize | Out-Host
    $model = Join-Path $work 'with-think'

    $prompt = "Question: What is 4 + 9?`nAnswer:"
    Write-Host "== 3. Before training: what the model says after `"$($prompt -replace "`n", '\n')`"" -ForegroundColor Cyan
    $before = Invoke-TokenGeneration -Model $model -Prompt $prompt -MaxNewTokens 4
    $before | Format-List Text, GeneratedIds, StopReason | Out-Host
    if ($before.GeneratedIds[0] -eq $added[0].Id) { throw 'The untrained model already generates <think>: the demo would prove nothing.' }

    Write-Host '== 4. Training the rows of <think> and </think> (examples/data/think.jsonl)' -ForegroundColor Cyan
    $run = New-TrainableTokensConfig -Token '<think>', '</think>' -Model $model -IncludeOutputHead -Dataset (Join-Path $PSScriptRoot 'data/think.jsonl') `
        -OutputDir (Join-Path $work 'adapter') -MaxSteps 150 -BatchSize 8 -MaxSeqLength 64 -LearningRate 0.1 -EvalSplit 0.1 -Path (Join-Path $work 'think.run.yaml')
    $trained = Start-TokenTraining -Path $run.FullName
    $trained | Format-List Steps, FirstLoss, FinalLoss, EvalLossBefore, EvalLoss, Improved, Seconds, AdapterFolder | Out-Host
    if (-not $trained.Improved) { throw "Training did not lower the held-out loss ($($trained.EvalLossBefore) -> $($trained.EvalLoss))." }

    Write-Host '== 5. After training: the same question, with the adapter' -ForegroundColor Cyan
    $after = Invoke-TokenGeneration -Model $model -Prompt $prompt -Adapter $trained.AdapterFolder -MaxNewTokens 4
    $after | Format-List Text, GeneratedIds, StopReason | Out-Host
    if ($after.GeneratedIds[0] -ne $added[0].Id) { throw "After training the model should generate <think> first; it generated '$($after.Text)'." }

    Write-Host '== 6. Merging the adapter, and the merged model says the same' -ForegroundColor Cyan
    $merged = $trained | Merge-TokenAdapter -Model $model -OutputPath (Join-Path $work 'merged')
    $merged | Format-List OutputPath, BytesCopied, Seconds | Out-Host
    $fromMerged = Invoke-TokenGeneration -Model $merged.OutputPath -Prompt $prompt -MaxNewTokens 4
    $fromMerged | Format-List Text, GeneratedIds | Out-Host
    if (($fromMerged.GeneratedIds -join ',') -ne ($after.GeneratedIds -join ',')) { throw 'The merged model generated different text from the adapter.' }
    Write-Host 'The merged model generates exactly what the model with the adapter generates.' -ForegroundColor Green
}
finally {
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
