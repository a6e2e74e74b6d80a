<#
.SYNOPSIS
    Writes the cases that check_against_peft.py compares: tiny models with adapters saved by this module (random
    rows, as after training), our forward outputs with each adapter, and the folder Merge-TokenAdapter writes.
.DESCRIPTION
    Reproduce: dotnet pwsh -NoProfile -File tests/reference/New-AdapterCases.ps1 -OutDir tests/reference/adapter-cases
    then run tests/device/run-device-checks.sh on a machine with Python peft and transformers.
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../../out/TrainableTokens/TrainableTokens.psd1'),
    [Parameter(Mandatory)] [string] $OutDir
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest -Force
$null = Get-TrainableTokensEnvironment
# The engine lives in the module's own load context, where PowerShell's type literals do not look: use reflection.
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'TrainableTokens.Core' }
function CoreType([string] $name) { $core.GetType("TrainableTokens.Core.$name", $true) }
$configType = CoreType 'Tuners.TrainableTokens.TrainableTokensAdapterConfig'
$targetsType = CoreType 'Tuners.TrainableTokens.TargetModules'

$cases = [ordered]@{
    'llama-f32-tied'         = @{ Type = 'llama'; Model = @{ Tied = $true }; Tokens = [long[]](5, 6, 100); Dtype = 'float32' }
    'llama-f32-untied-head'  = @{ Type = 'llama'; Model = @{ Untied = $true }; Tokens = [long[]](3, 7); Targets = @('embed_tokens', 'lm_head'); Dtype = 'float32' }
    'gemma-bf16'             = @{ Type = 'gemma'; Model = @{ Dtype = 'bfloat16' }; Tokens = [long[]](10, 11); Dtype = 'bfloat16' }
    'gpt2-f32'               = @{ Type = 'gpt2'; Model = @{}; Tokens = [long[]](1, 2); Dtype = 'float32' }
    'qwen2-f32-tied'         = @{ Type = 'qwen2'; Model = @{ Tied = $true }; Tokens = [long[]](20); Dtype = 'float32' }
    # Issue 11's architectures: PEFT's keys for Gemma 3's nested embedding (model.language_model.embed_tokens) and
    # Gemma 2's embedding scale and soft-caps, an untied Qwen3 head, Phi-3's fused projections.
    'qwen3-f32-untied-head'  = @{ Type = 'qwen3'; Model = @{}; Tokens = [long[]](4, 9); Targets = @('embed_tokens', 'lm_head'); Dtype = 'float32' }
    'gemma2-f32'             = @{ Type = 'gemma2'; Model = @{}; Tokens = [long[]](12, 13); Dtype = 'float32' }
    'gemma3-f32'             = @{ Type = 'gemma3'; Model = @{}; Tokens = [long[]](30, 31); Dtype = 'float32' }
    'gemma3_text-bf16'       = @{ Type = 'gemma3_text'; Model = @{ Dtype = 'bfloat16' }; Tokens = [long[]](14); Dtype = 'bfloat16' }
    'phi3-f32'               = @{ Type = 'phi3'; Model = @{}; Tokens = [long[]](8); Dtype = 'float32' }
}
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$seed = 0
foreach ($name in $cases.Keys) {
    $c = $cases[$name]; $seed++
    $case = Join-Path $OutDir $name
    if (Test-Path $case) { Remove-Item -Recurse -Force $case }
    $modelArgs = $c.Model
    $model = [string](New-TinyModel $c.Type (Join-Path $case 'model') -Seed $seed @modelArgs).Path

    # An adapter with random rows (init_weights: false), saved by AdapterFolder.Save exactly as training would.
    $loaded = (CoreType 'Models.ModelLoader').GetMethod('Load').Invoke($null, [object[]]@($model, $null, $null))
    $tuner = [Activator]::CreateInstance((CoreType 'Tuners.TrainableTokens.TrainableTokensModel'), [object[]]@($loaded))
    $config = [Activator]::CreateInstance($configType)
    $configType.GetProperty('TokenIndices').SetValue($config, [System.Collections.Generic.List[long]]$c.Tokens)
    $configType.GetProperty('InitWeights').SetValue($config, $false)
    if ($c.Targets) {
        $names = [System.Collections.Generic.List[string]]::new([string[]]$c.Targets)
        $arguments = [object[]]::new(1); $arguments[0] = $names   # @($names) would unroll the list into its items
        $configType.GetProperty('TargetModules').SetValue($config, $targetsType.GetMethod('Names').Invoke($null, $arguments))
    }
    $tuner.AddAdapter('default', $config, $null)
    (CoreType 'Tuners.TrainableTokens.AdapterFolder').GetMethod('Save').Invoke($null, [object[]]@($tuner, 'default', [string](Join-Path $case 'ours-adapter'), $false, $null, $null))
    $tuner.Dispose(); $loaded.Dispose()

    $ids = @(1, 3) + $c.Tokens + @(4, 2) + $c.Tokens[0]
    @{ input_ids = $ids; dtype = $c.Dtype; token_indices = $c.Tokens; target_modules = $c.Targets } | ConvertTo-Json -Compress | Set-Content (Join-Path $case 'case.json')
    $null = Invoke-TokenModel -Model $model -Adapter (Join-Path $case 'ours-adapter') -InputId $ids -OutFile (Join-Path $case 'ours-with-adapter.safetensors') -Dtype $c.Dtype
    $null = Merge-TokenAdapter -Model $model -Adapter (Join-Path $case 'ours-adapter') -OutputPath (Join-Path $case 'ours-merged')
    "$name written"
}
