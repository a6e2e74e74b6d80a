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
