# Shared by every Pester file: where the built module is, and how to run a fresh PowerShell of the same version.
$script:ModuleManifest = if ($env:TRAINABLETOKENS_MODULE) { $env:TRAINABLETOKENS_MODULE } else {
    Join-Path $PSScriptRoot '../../out/TrainableTokens/TrainableTokens.psd1'
}
$script:ModuleManifest = (Resolve-Path $script:ModuleManifest).Path
$script:ModuleDirectory = Split-Path $script:ModuleManifest

# Runs a script block's text in a new pwsh process (a clean session) and returns its output lines.
function Invoke-FreshPwsh {
    param([Parameter(Mandatory)] [string] $Command)
    $processPath = [Environment]::ProcessPath
    [string[]] $prefix = if ((Split-Path $processPath -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $output = & $processPath @prefix -NoProfile -NonInteractive -Command $Command 2>&1
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($output | ForEach-Object { "$_" }) }
}

# Writes a PEFT-format Trainable Tokens adapter with plain .NET (no module code): rows filled with -Value + 0.001 * i.
function New-TestAdapter {
    param([string] $Path, [long[]] $TokenIndex, [int] $Hidden = 64, [float] $Value = 0.5, [string] $Module = 'model.embed_tokens')
    New-Item -ItemType Directory -Force -Path $Path | Out-Null
    @{ peft_type = 'TRAINABLE_TOKENS'; task_type = 'CAUSAL_LM'; token_indices = $TokenIndex; target_modules = $Module; init_weights = $true } |
        ConvertTo-Json | Set-Content (Join-Path $Path 'adapter_config.json')
    $count = $TokenIndex.Count * $Hidden
    $data = [byte[]]::new($count * 4)
    for ($i = 0; $i -lt $count; $i++) { [BitConverter]::GetBytes([float]($Value + 0.001 * $i)).CopyTo($data, $i * 4) }
    $key = "base_model.model.$Module.trainable_tokens_delta"
    $header = '{"__metadata__":{"format":"pt"},"' + $key + '":{"dtype":"F32","shape":[' + $TokenIndex.Count + ',' + $Hidden + '],"data_offsets":[0,' + $data.Length + ']}}'
    while (($header.Length % 8) -ne 0) { $header += ' ' }
    $stream = [System.IO.File]::Create((Join-Path $Path 'adapter_model.safetensors'))
    try {
        $stream.Write([BitConverter]::GetBytes([uint64]$header.Length), 0, 8)
        $bytes = [System.Text.Encoding]::UTF8.GetBytes($header)
        $stream.Write($bytes, 0, $bytes.Length)
        $stream.Write($data, 0, $data.Length)
    }
    finally { $stream.Dispose() }
    Get-Item $Path
}

# The quickstart run file with absolute paths, its own output_dir, and text replacements (for example max_steps).
function New-QuickstartRunFile {
    param([string] $Path, [string] $OutputDir, [hashtable] $Replace = @{}, [string] $Append = '')
    $examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    $text = (Get-Content -Raw (Join-Path $examples 'quickstart.run.yaml')).
        Replace('./models/tiny-llama3', (Join-Path $examples 'models/tiny-llama3')).
        Replace('./data/quickstart.jsonl', (Join-Path $examples 'data/quickstart.jsonl')).
        Replace('../out/quickstart-adapter', $OutputDir)
    foreach ($key in $Replace.Keys) { $text = $text.Replace($key, $Replace[$key]) }
    Set-Content -Path $Path -Value ($text + $Append)
    $Path
}

# Writes a safetensors file of F32 tensors with plain .NET: -Tensors maps each name to @{ Shape = @(..); Values = [float[]] }.
function Write-TestSafetensors {
    param([string] $Path, [System.Collections.Specialized.OrderedDictionary] $Tensors)
    $entries = @('"__metadata__":{"format":"pt"}')
    $offset = 0
    foreach ($name in $Tensors.Keys) {
        $bytes = $Tensors[$name].Values.Count * 4
        $entries += '"' + $name + '":{"dtype":"F32","shape":[' + ($Tensors[$name].Shape -join ',') + '],"data_offsets":[' + $offset + ',' + ($offset + $bytes) + ']}'
        $offset += $bytes
    }
    $header = '{' + ($entries -join ',') + '}'
    while (($header.Length % 8) -ne 0) { $header += ' ' }
    $stream = [System.IO.File]::Create($Path)
    try {
        $stream.Write([BitConverter]::GetBytes([uint64]$header.Length), 0, 8)
        $h = [System.Text.Encoding]::UTF8.GetBytes($header)
        $stream.Write($h, 0, $h.Length)
        foreach ($name in $Tensors.Keys) {
            $values = [float[]]$Tensors[$name].Values
            $data = [byte[]]::new($values.Count * 4)
            [Buffer]::BlockCopy($values, 0, $data, 0, $data.Length)
            $stream.Write($data, 0, $data.Length)
        }
    }
    finally { $stream.Dispose() }
}

# Writes a PEFT-format LoRA adapter with plain .NET (no module code): for each module path in -Pair (path -> @(out, in)),
# lora_A [r, in] and lora_B [out, r] with small non-zero values (-Scale multiplies B); -TokenIndex adds
# trainable_token_indices (list form) with rows 0.5 + 0.001 * i under token_adapter.
function New-TestLoraAdapter {
    param([string] $Path, [System.Collections.Specialized.OrderedDictionary] $Pair, [int] $Rank = 2, [int] $Alpha = 4,
        [string[]] $TargetModules = @('q_proj', 'v_proj'), [long[]] $TokenIndex = @(), [int] $Hidden = 32, [string] $BaseModel, [float] $Scale = 1)
    New-Item -ItemType Directory -Force -Path $Path | Out-Null
    $config = [ordered]@{ peft_type = 'LORA'; task_type = 'CAUSAL_LM'; r = $Rank; lora_alpha = $Alpha; target_modules = $TargetModules; lora_dropout = 0.0; bias = 'none' }
    if ($TokenIndex.Count -gt 0) { $config.trainable_token_indices = $TokenIndex }
    if ($BaseModel) { $config.base_model_name_or_path = $BaseModel }
    $config | ConvertTo-Json | Set-Content (Join-Path $Path 'adapter_config.json')
    $tensors = [ordered]@{}
    $k = 0
    foreach ($module in $Pair.Keys) {
        $out, $in = $Pair[$module]
        $k++
        $tensors["base_model.model.$module.lora_A.weight"] = @{ Shape = @($Rank, $in); Values = [float[]](0..($Rank * $in - 1) | ForEach-Object { 0.05 * ((($_ + $k) % 7) - 3) }) }
        $tensors["base_model.model.$module.lora_B.weight"] = @{ Shape = @($out, $Rank); Values = [float[]](0..($out * $Rank - 1) | ForEach-Object { $Scale * 0.03 * ((($_ + $k) % 5) - 2) }) }
    }
    if ($TokenIndex.Count -gt 0) {
        $tensors['base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta'] = @{ Shape = @($TokenIndex.Count, $Hidden); Values = [float[]](0..($TokenIndex.Count * $Hidden - 1) | ForEach-Object { 0.5 + 0.001 * $_ }) }
    }
    Write-TestSafetensors (Join-Path $Path 'adapter_model.safetensors') $tensors
    Get-Item $Path
}

# One F32 tensor of a safetensors file, read with plain .NET (no module code), as one float[].
function Read-F32Tensor([string] $Path, [string] $Name) {
    $bytes = [System.IO.File]::ReadAllBytes($Path)
    $length = [BitConverter]::ToUInt64($bytes, 0)
    $header = [System.Text.Encoding]::UTF8.GetString($bytes, 8, $length) | ConvertFrom-Json -AsHashtable
    $begin, $end = $header[$Name].data_offsets
    $values = [float[]]::new(($end - $begin) / 4)
    [Buffer]::BlockCopy($bytes, 8 + $length + $begin, $values, 0, $end - $begin)
    , $values
}
