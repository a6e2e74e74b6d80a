<#
.SYNOPSIS
    Writes the model folders check_with_transformers.py loads with transformers: tiny models carrying real tokenizers,
    and the folders Add-TokenizerToken makes of them (each initialisation, padding, sharding, bf16, tied and untied).
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/tokenizers/New-DeviceCases.ps1 -OutDir tests/tokenizers/cases
#>
param(
    [Parameter(Mandatory)] [string] $OutDir,
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../../out/TrainableTokens/TrainableTokens.psd1')
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest
$fixtures = Join-Path $PSScriptRoot '../fixtures/tokenizers'
if (Test-Path $OutDir) { Remove-Item -Recurse -Force $OutDir }
New-Item -ItemType Directory $OutDir | Out-Null
$manifest = [System.Collections.Generic.List[object]]::new()

function New-Case([string] $Name, [string] $Tokenizer, [string] $Type, [hashtable] $Model, [hashtable] $Add) {
    $source = $null
    $input_ = Join-Path $fixtures $Tokenizer
    if ($Type) {
        $source = "$Name-source"
        $json = Get-Content -Raw (Join-Path $input_ 'tokenizer.json') | ConvertFrom-Json -AsHashtable
        $vocab = [Math]::Max(($json.model.vocab.Values | Measure-Object -Maximum).Maximum, ($json.added_tokens.id | Measure-Object -Maximum).Maximum) + 1
        New-TinyModel $Type (Join-Path $OutDir $source) -VocabSize $vocab -HiddenSize 16 -IntermediateSize 32 -NumLayers 1 -NumHeads 2 -NumKeyValueHeads 1 @Model | Out-Null
        Copy-Item (Join-Path $input_ '*') (Join-Path $OutDir $source)
        $input_ = Join-Path $OutDir $source
    }
    $tokens = @(Add-TokenizerToken -Model $input_ -OutputPath (Join-Path $OutDir $Name) @Add -WarningAction SilentlyContinue)
    $manifest.Add([ordered]@{
        name = $Name; output = $Name; source_model = $source
        tokens = @($tokens | Where-Object Added | Select-Object Token, Id)
        tokenizer_size = $tokens[0].TokenizerSize; vocab_size = $tokens[0].VocabSize
        init = if ($Add.InitFrom) { $Add.InitFrom } else { 'Mean' }
        init_value = if ($Add.InitText) { @($Add.InitText)[0] } elseif ($Add.InitToken) { @($Add.InitToken)[0] } else { $null }
    })
}

New-Case 'llama2-mean' 'llama2' 'llama' @{ Untied = $true } @{ Token = '<think>', '</think>' }
New-Case 'llama3-text' 'llama3-trimmed' 'llama' @{ Untied = $true; Dtype = 'bfloat16' } @{ Token = '<think>'; Special = $true; InitFrom = 'Text'; InitText = 'begin reasoning' }
New-Case 'qwen3-padded-sharded' 'qwen3-trimmed' 'qwen2' @{ Untied = $true; Dtype = 'bfloat16'; MaxShardBytes = 150000 } @{ Token = '<|tool|>'; Special = $true; PadToMultipleOf = 64 }
New-Case 'gemma3-copy' 'gemma3-trimmed' 'gemma' @{ Tied = $true } @{ Token = '<think>'; Special = $true; InitFrom = 'Copy'; InitToken = '<start_of_turn>' }
New-Case 'gpt2-random' 'gpt2' 'gpt2' @{ Tied = $true } @{ Token = '<a>', '<b>', '<c>'; InitFrom = 'Random'; Seed = 3 }
New-Case 'llama3-tokenizer-only' 'llama3-trimmed' $null @{} @{ Token = '<think>', '</think>' }
$manifest | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $OutDir 'manifest.json')
Write-Host "Wrote $($manifest.Count) cases to $OutDir"
