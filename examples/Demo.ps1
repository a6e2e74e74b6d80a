<#
.SYNOPSIS
    The TrainableTokens demo: what a new user runs first.
.DESCRIPTION
    Imports the built module, reports the environment, loads the tiny model embedded in examples/models and runs a
    forward pass through it, then tokenises text with a real (Llama 3) tokenizer and adds reasoning tokens to a tiny
    model that carries it. It grows with the product: as tokenizers, training and merging land, this script
    trains new tokens on the tiny model, merges the adapter and generates text.
#>
param([string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'))
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest

Write-Host '== 1. The machine' -ForegroundColor Cyan
$environment = Get-TrainableTokensEnvironment
$environment | Format-List | Out-Host
if (-not $environment.ComputeCheckPassed) { throw 'libtorch did not compute a matrix product correctly on this machine.' }

Write-Host '== 2. A forward pass through the tiny embedded model (examples/models/tiny-llama)' -ForegroundColor Cyan
$model = Join-Path $PSScriptRoot 'models/tiny-llama'
$outFile = Join-Path ([System.IO.Path]::GetTempPath()) "trainabletokens-demo-$PID.safetensors"
$ids = 1, 17, 42, 99, 7
try {
    $result = Invoke-TokenModel -Model $model -InputId $ids -OutFile $outFile -Verbose
    $result | Format-List ModelType, SequenceLength, VocabSize, HiddenSize, Dtype, Tensors, LoadSeconds, ForwardSeconds | Out-Host
    Write-Host ("Wrote logits [1, {0}, {1}] and {2} hidden states to {3}." -f $result.SequenceLength, $result.VocabSize, ($result.Tensors.Count - 1), $outFile)
}
finally {
    Remove-Item $outFile -ErrorAction SilentlyContinue
}
Write-Host '== 3. Tokens: a tiny Llama with a real Llama 3 tokenizer (examples/models/tiny-llama3)' -ForegroundColor Cyan
$tokenModel = Join-Path $PSScriptRoot 'models/tiny-llama3'
ConvertTo-TokenId $tokenModel 'Hello <think>world</think>' -NoSpecialTokens | Format-List Count, Ids, Tokens | Out-Host
$withThink = Join-Path ([System.IO.Path]::GetTempPath()) "trainabletokens-demo-think-$PID"
try {
    # New rows start from the meaning of words; existing rows stay bit for bit.
    $added = Add-TokenizerToken -Model $tokenModel -Token '<think>', '</think>' -Special -InitFrom Text -InitText 'begin reasoning', 'end reasoning' -OutputPath $withThink
    $added | Format-Table Token, Id, Added, TokenizerSize, VocabSize | Out-Host
    $ids = ConvertTo-TokenId $withThink 'Hello <think>world</think>' -NoSpecialTokens
    $ids | Format-List Count, Ids, Tokens | Out-Host
    if ($ids.Ids -notcontains $added[0].Id) { throw 'The new <think> token was not used by the tokenizer.' }
    $forward = Invoke-TokenModel -Model $withThink -InputId $ids.Ids -OutFile $outFile
    Write-Host ("The resized model ran over the new ids: logits [1, {0}, {1}]." -f $forward.SequenceLength, $forward.VocabSize)
    @{ prompt = 'Question: what comes after <think>?'; completion = ' </think>' }, 'Hello world' |
        Measure-TokenDataset $withThink -MaxLength 64 | Format-List Records, Tokens, LabelledTokens, Formats | Out-Host
}
finally {
    Remove-Item -Recurse -Force $withThink -ErrorAction SilentlyContinue
    Remove-Item $outFile -ErrorAction SilentlyContinue
}
Write-Host '== 4. Training the quickstart run (examples/quickstart.run.yaml), then merging the adapter' -ForegroundColor Cyan
$trainDir = Join-Path ([System.IO.Path]::GetTempPath()) "trainabletokens-demo-train-$PID"
try {
    # The quickstart run file with absolute paths, a short run and a temporary output folder.
    New-Item -ItemType Directory -Path $trainDir | Out-Null
    $runFile = Join-Path $trainDir 'quickstart.run.yaml'
    (Get-Content -Raw (Join-Path $PSScriptRoot 'quickstart.run.yaml')).
        Replace('./models/tiny-llama3', $tokenModel).
        Replace('./data/quickstart.jsonl', (Join-Path $PSScriptRoot 'data/quickstart.jsonl')).
        Replace('../out/quickstart-adapter', (Join-Path $trainDir 'adapter')).
        Replace('num_train_epochs: 3.0', 'max_steps: 12') | Set-Content $runFile
    $trained = Start-TokenTraining -Path $runFile -Verbose
    $trained | Format-List Steps, FirstLoss, FinalLoss, EvalLossBefore, EvalLoss, Improved, Seconds, TokensPerSecond, AdapterFolder, Checkpoints, MetricsFile, LossCurveFile, Message | Out-Host
    # The quickstart holds out a quarter of its examples (eval_split): the held-out loss says whether the adapter helped.
    if (-not $trained.Improved) { throw "Training did not lower the held-out loss ($($trained.EvalLossBefore) -> $($trained.EvalLoss))." }
    # One line per logging step and per evaluation, as objects.
    Get-Content $trained.MetricsFile | ConvertFrom-Json | Where-Object { $null -ne $_.eval_loss } | Format-Table step, epoch, eval_loss, eval_perplexity | Out-Host
    Get-TokenAdapter $trained.AdapterFolder | Format-List PeftType, TokenIndices, TargetModules | Out-Host
    $merged = Merge-TokenAdapter -Model $tokenModel -Adapter $trained.AdapterFolder -OutputPath (Join-Path $trainDir 'merged')
    $merged | Format-List OutputPath, BytesCopied, Seconds | Out-Host
}
finally {
    Remove-Item -Recurse -Force $trainDir -ErrorAction SilentlyContinue
}
