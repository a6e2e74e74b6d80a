<#
.SYNOPSIS
    Runs the Pester acceptance suite against a built module and prints "N passed, N failed, N skipped".
.DESCRIPTION
    Exits 1 when any test, block or container fails (a plain Invoke-Pester exits 0 even then).
    The counts also go to -ResultFile as JSON for build.ps1's summary.
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $TestPath,
    [Parameter(Mandatory)] [string] $ResultFile
)
$ErrorActionPreference = 'Stop'
$env:NO_COLOR = '1'
if (-not (Test-Path $PesterManifest)) { throw "Pester is not restored at $PesterManifest; run 'dotnet restore build/TestDependencies/TestDependencies.csproj'." }
Import-Module $PesterManifest -Force
$env:TRAINABLETOKENS_MODULE = (Resolve-Path $ModuleManifest).Path

$config = New-PesterConfiguration
$config.Run.Path = $TestPath
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$run = Invoke-Pester -Configuration $config

# A failure in BeforeAll or in discovery fails a block or container, not a test: count those too.
$failed = $run.FailedCount + $run.FailedBlocksCount + $run.FailedContainersCount
$counts = [ordered]@{ Passed = $run.PassedCount; Failed = $failed; Skipped = $run.SkippedCount + $run.NotRunCount }
New-Item -ItemType Directory -Force -Path (Split-Path $ResultFile) | Out-Null
$counts | ConvertTo-Json | Set-Content -Path $ResultFile
'{0} passed, {1} failed, {2} skipped' -f $counts.Passed, $counts.Failed, $counts.Skipped
exit $(if ($failed -gt 0 -or $run.Result -ne 'Passed') { 1 } else { 0 })
