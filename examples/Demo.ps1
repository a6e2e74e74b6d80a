<#
.SYNOPSIS
    The TrainableTokens demo: what a new user runs first.
.DESCRIPTION
    Imports the built module, reports the environment, loads the tiny model embedded in examples/models and runs a
    forward pass through it. It grows with the product: as tokenizers, training and merging land, this script
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
Write-Host 'Next: tokenizers, training of new token rows, and merging land in the coming releases.'
