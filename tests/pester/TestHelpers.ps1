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
