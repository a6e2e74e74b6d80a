<#
.SYNOPSIS
    Writes the cases that check_against_transformers.py compares: tiny models of every architecture (float32 and
    bfloat16, tied and untied, sharded, llama3 rope scaling, a sliding window), each with our forward outputs.
.DESCRIPTION
    Run it with the built module, carry the output folder to a machine with Python transformers, run
    check_against_transformers.py there, and copy its reference.safetensors files into tests/fixtures/reference.
    Reproduce: dotnet pwsh -NoProfile -File tests/reference/New-ReferenceCases.ps1 -OutDir tests/reference/cases
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../../out/TrainableTokens/TrainableTokens.psd1'),
    [Parameter(Mandatory)] [string] $OutDir
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest -Force
$null = Get-TrainableTokensEnvironment   # loads the engine
# The engine lives in the module's own load context, where PowerShell's type literals do not look: use reflection.
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'TrainableTokens.Core' }
$specType = $core.GetType('TrainableTokens.Core.Models.TinyModelSpec', $true)
$ropeType = $core.GetType('TrainableTokens.Core.Models.RopeScaling', $true)
$create = $core.GetType('TrainableTokens.Core.Models.TinyModelFactory', $true).GetMethod('Create')

$cases = [ordered]@{
    'llama-f32-untied'                 = @{ ModelType = 'llama'; Seed = 1; TieWordEmbeddings = $false }
    'llama-f32-tied-llama3rope-bias-hd32' = @{ ModelType = 'llama'; Seed = 2; TieWordEmbeddings = $true; AttentionBias = $true; HeadDim = 32
        RopeTheta = 500000.0; RopeScaling = [Activator]::CreateInstance($ropeType, @('llama3', 4.0, 1.0, 4.0, 16)) }
    'llama-bf16'                       = @{ ModelType = 'llama'; Seed = 3; Dtype = 'bfloat16' }
    'llama-f32-sharded'                = @{ ModelType = 'llama'; Seed = 4; MaxShardBytes = 40000 }
    'mistral-f32-window4'              = @{ ModelType = 'mistral'; Seed = 5; SlidingWindow = 4 }
    'qwen2-f32-tied'                   = @{ ModelType = 'qwen2'; Seed = 6; TieWordEmbeddings = $true }
    'qwen2-bf16'                       = @{ ModelType = 'qwen2'; Seed = 7; Dtype = 'bfloat16' }
    'gemma-f32'                        = @{ ModelType = 'gemma'; Seed = 8 }
    'gemma-bf16-hd32'                  = @{ ModelType = 'gemma'; Seed = 9; Dtype = 'bfloat16'; HeadDim = 32; NumKeyValueHeads = 1 }
    'gpt2-f32'                         = @{ ModelType = 'gpt2'; Seed = 10; NumKeyValueHeads = 4 }
    'gpt2-f32-untied-sharded'          = @{ ModelType = 'gpt2'; Seed = 11; NumKeyValueHeads = 4; TieWordEmbeddings = $false; MaxShardBytes = 60000 }
    # Issue 11's architectures. Gemma 2's caps are small enough to bite on a tiny model (its scores are near 0, its
    # logits a few units), and its query_pre_attn_scalar differs from head_dim.
    'qwen3-f32-untied-window4'         = @{ ModelType = 'qwen3'; Seed = 12; SlidingWindow = 4; NumLayers = 4 }
    'qwen3-bf16-tied'                  = @{ ModelType = 'qwen3'; Seed = 13; Dtype = 'bfloat16'; TieWordEmbeddings = $true }
    'gemma2-f32-softcap-window4'       = @{ ModelType = 'gemma2'; Seed = 14; SlidingWindow = 4; AttentionSoftcap = 0.1; FinalLogitSoftcap = 2.0; QueryPreAttentionScalar = 24.0 }
    'gemma2-bf16'                      = @{ ModelType = 'gemma2'; Seed = 15; Dtype = 'bfloat16'; FinalLogitSoftcap = 2.0 }
    'gemma3_text-f32-window3'          = @{ ModelType = 'gemma3_text'; Seed = 16; SlidingWindow = 3; NumLayers = 4; QueryPreAttentionScalar = 12.0 }
    'gemma3_text-bf16'                 = @{ ModelType = 'gemma3_text'; Seed = 17; Dtype = 'bfloat16'; SlidingWindow = 3 }
    'gemma3-f32-window3'               = @{ ModelType = 'gemma3'; Seed = 18; SlidingWindow = 3 }
    'phi3-f32-untied'                  = @{ ModelType = 'phi3'; Seed = 19 }
    'phi3-bf16-window4'                = @{ ModelType = 'phi3'; Seed = 20; Dtype = 'bfloat16'; SlidingWindow = 4 }
    'smollm3-f32'                      = @{ ModelType = 'smollm3'; Seed = 21; NumLayers = 4 }
    'smollm3-bf16'                     = @{ ModelType = 'smollm3'; Seed = 22; Dtype = 'bfloat16' }
    'olmo2-f32'                        = @{ ModelType = 'olmo2'; Seed = 23 }
    'olmo2-bf16'                       = @{ ModelType = 'olmo2'; Seed = 24; Dtype = 'bfloat16' }
}
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$random = [System.Random]::new(1234)
foreach ($name in $cases.Keys) {
    $case = Join-Path $OutDir $name
    if (Test-Path $case) { Remove-Item -Recurse -Force $case }
    New-Item -ItemType Directory -Path $case | Out-Null
    $settings = $cases[$name]
    $spec = [Activator]::CreateInstance($specType)
    foreach ($key in $settings.Keys) {
        $property = $specType.GetProperty($key)
        $property.SetValue($spec, [System.Management.Automation.LanguagePrimitives]::ConvertTo($settings[$key], $property.PropertyType))
    }
    [void]$create.Invoke($null, [object[]]@([string](Join-Path $case 'model'), $spec, $false))
    $ids = 1..10 | ForEach-Object { $random.Next(0, $spec.VocabSize) }
    $dtype = if ($settings.Dtype) { $settings.Dtype } else { 'float32' }
    @{ input_ids = $ids; dtype = $dtype } | ConvertTo-Json -Compress | Set-Content (Join-Path $case 'case.json')
    $result = Invoke-TokenModel -Model (Join-Path $case 'model') -InputId $ids -OutFile (Join-Path $case 'ours.safetensors') -Dtype $dtype
    '{0}: {1} tensors, {2:N3} s' -f $name, $result.Tensors.Count, $result.ForwardSeconds
}
