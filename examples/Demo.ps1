<#
.SYNOPSIS
    The TrainableTokens demo: what a new user runs first.
.DESCRIPTION
    Imports the built module, reports the environment, and runs a real libtorch computation. It grows with the
    product: as models, training and merging land, this script trains new tokens on the tiny embedded model,
    merges the adapter and generates text.
#>
param([string] $ModuleManifest = (Join-Path $PSScriptRoot '../out/TrainableTokens/TrainableTokens.psd1'))
$ErrorActionPreference = 'Stop'

Import-Module $ModuleManifest
Write-Host '== The machine ==' -ForegroundColor Cyan
$environment = Get-TrainableTokensEnvironment -Verbose
$environment | Format-List | Out-Host
if (-not $environment.ComputeCheckPassed) { throw 'libtorch did not compute a matrix product correctly on this machine.' }
Write-Host ("libtorch {0} on {1} with {2} threads: the compute check passed in {3:N2} ms." -f
    $environment.LibTorchVersion, $environment.Backend, $environment.CpuThreads, $environment.ComputeCheckMilliseconds)
