<#
.SYNOPSIS
    Writes the cases that check_against_transformers.py compares: tiny models of every architecture (float32 and
    bfloat16, tied and untied, sharded, every rope type in both config layouts, a sliding window), each with our
    forward outputs.
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
$ropeType = $core.GetType('TrainableTokens.Core.Models.RopeParameters', $true)
# A RopeParameters from a hashtable of its properties (lists as [double[]]).
function Rope([hashtable] $fields) {
    $rope = [Activator]::CreateInstance($ropeType)
    foreach ($key in $fields.Keys) {
        $property = $ropeType.GetProperty($key)
        $value = $fields[$key]
        if ($value -is [array]) { $value = [double[]]$value }
        elseif ($property.PropertyType -ne [string]) {
            $target = [Nullable]::GetUnderlyingType($property.PropertyType) ?? $property.PropertyType
            $value = [System.Management.Automation.LanguagePrimitives]::ConvertTo($value, $target)
        }
        $property.SetValue($rope, $value)
    }
    $rope
}
$create = $core.GetType('TrainableTokens.Core.Models.TinyModelFactory', $true).GetMethod('Create')

$cases = [ordered]@{
    'llama-f32-untied'                 = @{ ModelType = 'llama'; Seed = 1; TieWordEmbeddings = $false }
    'llama-f32-tied-llama3rope-bias-hd32' = @{ ModelType = 'llama'; Seed = 2; TieWordEmbeddings = $true; AttentionBias = $true; HeadDim = 32
        Rope = (Rope @{ Type = 'llama3'; Theta = 500000.0; Factor = 4.0; LowFreqFactor = 1.0; HighFreqFactor = 4.0; OriginalMaxPositions = 16 }) }
    'llama-f32-linear-rope'            = @{ ModelType = 'llama'; Seed = 12; Rope = (Rope @{ Type = 'linear'; Factor = 2.0 }) }
    # max_position_embeddings 6: the 10-token case passes it, so dynamic NTK raises the base (transformers scales
    # against max_position_embeddings, not an original in the block).
    'llama-f32-dynamic-rope'           = @{ ModelType = 'llama'; Seed = 13; MaxPositions = 6; Rope = (Rope @{ Type = 'dynamic'; Factor = 3.0 }) }
    # head_dim 16, original 32, beta 8/1: the correction range is dims 0..2, so the ramp blends; attention factor 0.1 ln 4 + 1.
    'llama-f32-yarn-rope'              = @{ ModelType = 'llama'; Seed = 14; Rope = (Rope @{ Type = 'yarn'; Factor = 4.0; OriginalMaxPositions = 32; BetaFast = 8.0; BetaSlow = 1.0 }) }
    # transformers 5 layout; mscale / mscale_all_dim and truncate false need transformers 5 (4.x ignores them).
    'llama-f32-yarn-v5-mscale'         = @{ ModelType = 'llama'; Seed = 15; RopeParametersLayout = $true
        Rope = (Rope @{ Type = 'yarn'; Theta = 20000.0; Factor = 4.0; OriginalMaxPositions = 32; Mscale = 1.0; MscaleAllDim = 0.5; Truncate = $false }) }
    # original 8 at the top level (Phi-3 style, read alike by 4.x and 5.x): the 10-token case uses long_factor, and the
    # attention factor is sqrt(1 + ln(64 / 8) / ln 8).
    'llama-f32-longrope'               = @{ ModelType = 'llama'; Seed = 16; MaxPositions = 64; OriginalMaxPositions = 8
        Rope = (Rope @{ Type = 'longrope'; ShortFactor = @(1.0, 1.0, 1.1, 1.3, 1.7, 2.2, 3.0, 4.0); LongFactor = @(1.0, 1.2, 1.6, 2.5, 4.0, 6.0, 9.0, 12.0) }) }
    'llama-f32-llama3-v5'              = @{ ModelType = 'llama'; Seed = 17; RopeParametersLayout = $true; HeadDim = 32
        Rope = (Rope @{ Type = 'llama3'; Theta = 500000.0; Factor = 8.0; LowFreqFactor = 1.0; HighFreqFactor = 4.0; OriginalMaxPositions = 16 }) }
    # Phi-4-mini's partial rotary (0.75 of head_dim 16: 12 dims, 6 factors) with longrope past its original 8 positions.
    'phi3-f32-partial-longrope'        = @{ ModelType = 'phi3'; Seed = 25; PartialRotaryFactor = 0.75; OriginalMaxPositions = 8
        Rope = (Rope @{ Type = 'longrope'; ShortFactor = @(1.0, 1.1, 1.2, 1.4, 1.8, 2.5); LongFactor = @(1.0, 1.5, 2.5, 4.0, 6.0, 9.0) }) }
    # Gemma 3's local and global ropes in the v5 per-layer-type layout.
    'gemma3_text-f32-v5-local-rope'    = @{ ModelType = 'gemma3_text'; Seed = 26; SlidingWindow = 3; RopeParametersLayout = $true
        Rope = (Rope @{ Type = 'linear'; Theta = 100000.0; Factor = 4.0 }); SlidingRope = (Rope @{ Type = 'default'; Theta = 1000.0 }) }
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
