<#
.SYNOPSIS
    Measures what a runbook pays to start: Import-Module, the first call (loads libtorch), a second call, and the
    process's peak resident memory, each in a fresh pwsh process; writes bench/results/startup.md.
.NOTES
    Reproduce: dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench
#>
param(
    [string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'),
    [int] $Runs = 7
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$processPath = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path $processPath -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }

$probe = @"
`$w = [Diagnostics.Stopwatch]::StartNew(); Import-Module '$ModuleManifest'; `$import = `$w.Elapsed.TotalMilliseconds
`$w.Restart(); `$null = Get-TrainableTokensEnvironment; `$first = `$w.Elapsed.TotalMilliseconds
`$w.Restart(); `$null = Get-TrainableTokensEnvironment; `$second = `$w.Elapsed.TotalMilliseconds
`$hwm = (Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)').Matches[0].Groups[1].Value
'{0};{1};{2};{3}' -f `$import, `$first, `$second, `$hwm
"@
$baselineProbe = "`$hwm = (Select-String -Path /proc/self/status -Pattern '^VmHWM:\s+(\d+)').Matches[0].Groups[1].Value; `$hwm"

$rows = foreach ($i in 1..$Runs) {
    $line = & $processPath @prefix -NoProfile -NonInteractive -Command $probe
    $baseline = & $processPath @prefix -NoProfile -NonInteractive -Command $baselineProbe
    $v = $line.Split(';')
    [pscustomobject]@{ Import = [double]$v[0]; First = [double]$v[1]; Second = [double]$v[2]; PeakMiB = [double]$v[3] / 1024; BaselineMiB = [double]$baseline / 1024 }
}
function Median([double[]] $x) { $s = $x | Sort-Object; $s[[int][math]::Floor($s.Count / 2)] }

$result = [ordered]@{
    'Import-Module (ms)'                       = Median $rows.Import
    'First Get-TrainableTokensEnvironment (ms)' = Median $rows.First
    'Second call (ms)'                         = Median $rows.Second
    'Peak RSS with libtorch loaded (MiB)'      = Median $rows.PeakMiB
    'Peak RSS of an empty pwsh (MiB)'          = Median $rows.BaselineMiB
}
$lines = @(
    '# Start-up cost'
    ''
    "Recorded $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC on $([Environment]::ProcessorCount) cores, $([math]::Round((Get-Content /proc/meminfo -First 1).Split(' ', [StringSplitOptions]::RemoveEmptyEntries)[1] / 1MB)) GiB, $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription), PowerShell $($PSVersionTable.PSVersion)."
    ''
    'Command: `dotnet pwsh -NoProfile -File ./build.ps1 -Task Bench` (runs `bench/Startup.Bench.ps1`).'
    "Each figure is the median of $Runs fresh pwsh processes, run one after the other."
    ''
    '| measure | value |'
    '| --- | ---: |'
) + ($result.GetEnumerator() | ForEach-Object { '| {0} | {1:N1} |' -f $_.Key, $_.Value })
$lines += @('', 'The first call includes loading libtorch (about 450 MB of shared libraries, mapped, not read) and a 64x64 compute check.')
$out = Join-Path $PSScriptRoot 'results/startup.md'
Set-Content -Path $out -Value $lines
$lines | Out-Host
