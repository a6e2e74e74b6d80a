<#
.SYNOPSIS
    Builds, tests, demonstrates, benchmarks and packages the TrainableTokens module.
.DESCRIPTION
    Build    the module into out/TrainableTokens (engine and natives in out/TrainableTokens/Dependencies, JSON Schemas
             for config files in out/TrainableTokens/schemas).
    Test     Build, then every xunit project under tests/unit and the Pester suite under tests/pester.
    Demo     Build, then examples/Demo.ps1 on the tiny embedded model.
    Bench    Build, then every bench/*.ps1 benchmark; results land in bench/results.
    Package  Build, then a .nupkg of the module in out/packages (Install-PSResource accepts it from that folder).
    Every task does its own set-up: dotnet tool restore, package restores, Pester from NuGet.
.PARAMETER Flavour
    Which libtorch the engine ships: cpu (Linux x64, default), cuda (Linux x64, CUDA 12.8; untested here), wincpu (Windows x64 CPU; built, not tested here).
.EXAMPLE
    dotnet tool restore; dotnet pwsh -NoProfile -File ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package')]
    [string] $Task = 'Build',
    [ValidateSet('cpu', 'cuda', 'wincpu')]
    [string] $Flavour = 'cpu',
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:NO_COLOR = '1'
$PSStyle.OutputRendering = 'PlainText'

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
# The default (cpu) module goes to out/TrainableTokens; other flavours beside it, so they never replace the tested one.
$ModuleDir = if ($Flavour -eq 'cpu') { Join-Path $Out 'TrainableTokens' } else { Join-Path $Out "$Flavour/TrainableTokens" }
$ModuleManifest = Join-Path $ModuleDir 'TrainableTokens.psd1'
$PesterVersion = '5.7.1'

# A simple function on purpose: dotnet's own switches (-o, -c, -r) must not bind to PowerShell's common parameters.
function Invoke-Dotnet {
    Write-Host "> dotnet $($args -join ' ')"
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args[0]) failed with exit code $LASTEXITCODE." }
}

# A child PowerShell of the same version, for steps that import the module (so this build session never loads it).
function Invoke-ChildPwsh {
    param([string] $File, [string[]] $Arguments = @())
    $host_ = [Environment]::ProcessPath
    [string[]] $prefix = if ((Split-Path $host_ -Leaf) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    Write-Verbose "> $host_ $prefix -File $File $Arguments"
    & $host_ @prefix -NoProfile -NonInteractive -File $File @Arguments | Out-Host
    return $LASTEXITCODE
}

function Invoke-Build {
    Push-Location $Root
    try {
        Invoke-Dotnet tool restore
        $rid = if ($Flavour -eq 'wincpu') { 'win-x64' } else { 'linux-x64' }
        $staging = Join-Path (Split-Path $ModuleDir) '.TrainableTokens.staging'
        if (Test-Path $staging) { Remove-Item -Recurse -Force $staging }

        try {
            Invoke-Dotnet publish src/Core/TrainableTokens.Core.csproj -c $Configuration -r $rid --self-contained false `
                "-p:TorchFlavour=$Flavour" -o (Join-Path $staging 'Dependencies')
        }
        catch {
            if ($Flavour -eq 'cuda') {
                throw ("The CUDA flavour needs the NuGet package libtorch-cuda-12.8-linux-x64 2.10.0, and the restore above " +
                    "could not get it from the configured NuGet sources. No CPU build was made in its place. Add a NuGet " +
                    "source that serves the CUDA libtorch packages (nuget.org does) and run './build.ps1 -Flavour cuda' again.")
            }
            throw
        }
        Invoke-Dotnet build src/Cmdlets/TrainableTokens.Cmdlets.csproj -c $Configuration "-p:TorchFlavour=$Flavour"

        # JSON Schemas for editors, from the same *.schema.yaml files the source generator reads.
        Invoke-Dotnet build build/SchemaExport/TrainableTokens.SchemaExport.csproj -c $Configuration
        Invoke-Dotnet (Join-Path $Root "build/SchemaExport/bin/$Configuration/net10.0/TrainableTokens.SchemaExport.dll") `
            (Join-Path $Root 'src/Core/Schemas') (Join-Path $staging 'schemas')
        $cmdletsBin = Join-Path $Root "src/Cmdlets/bin/$Configuration/net8.0"
        Copy-Item (Join-Path $cmdletsBin 'TrainableTokens.Cmdlets.dll'), (Join-Path $cmdletsBin 'TrainableTokens.Cmdlets.pdb') $staging
        Copy-Item (Join-Path $Root 'module/TrainableTokens.psd1'), (Join-Path $Root 'module/TrainableTokens.Format.ps1xml'), (Join-Path $Root 'module/TrainableTokens.Should.psm1') $staging
        Copy-Item -Recurse (Join-Path $Root 'module/en-US') $staging

        $code = Invoke-ChildPwsh (Join-Path $Root 'build/New-MamlHelp.ps1') @(
            '-ModuleManifest', (Join-Path $staging 'TrainableTokens.psd1'),
            '-HelpSource', (Join-Path $Root 'module/help'),
            '-OutFile', (Join-Path $staging 'en-US/TrainableTokens.Cmdlets.dll-Help.xml'))
        if ($code -ne 0) { throw 'Writing the MAML help failed (see above).' }

        if (Test-Path $ModuleDir) { Remove-Item -Recurse -Force $ModuleDir }
        Move-Item $staging $ModuleDir
        Write-Host "Module built: $ModuleDir ($Flavour)"
    }
    finally { Pop-Location }
}

function Get-TrxCounts([string] $Folder) {
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($trx in Get-ChildItem $Folder -Filter *.trx -ErrorAction SilentlyContinue) {
        $counters = ([xml](Get-Content -Raw $trx.FullName)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        $skipped += [int]$counters.notExecuted
    }
    return @{ Passed = $passed; Failed = $failed; Skipped = $skipped }
}

function Invoke-Test {
    Invoke-Build
    Push-Location $Root
    try {
        Invoke-Dotnet restore build/TestDependencies/TestDependencies.csproj
        $results = Join-Path $Out 'test-results'
        if (Test-Path $results) { Remove-Item -Recurse -Force $results }
        $unitFailed = $false
        foreach ($project in Get-ChildItem (Join-Path $Root 'tests/unit') -Recurse -Filter *.Tests.csproj) {
            Write-Host "> dotnet test $($project.Name)"
            & dotnet test $project.FullName -c $Configuration "-p:TorchFlavour=$Flavour" --logger 'console;verbosity=normal' `
                --logger "trx;LogFilePrefix=$($project.BaseName)" --results-directory $results
            if ($LASTEXITCODE -ne 0) { $unitFailed = $true }
        }
        $unit = Get-TrxCounts $results

        $pester = Join-Path (Get-NuGetPackagesFolder) "pester/$PesterVersion/tools/Pester.psd1"
        $code = Invoke-ChildPwsh (Join-Path $Root 'build/Invoke-PesterSuite.ps1') @(
            '-PesterManifest', $pester, '-ModuleManifest', $ModuleManifest,
            '-TestPath', (Join-Path $Root 'tests/pester'), '-ResultFile', (Join-Path $results 'pester.json'))
        $p = Get-Content -Raw (Join-Path $results 'pester.json') | ConvertFrom-Json

        Write-Host ("xunit: {0} passed, {1} failed, {2} skipped" -f $unit.Passed, $unit.Failed, $unit.Skipped)
        Write-Host ("Pester: {0} passed, {1} failed, {2} skipped" -f $p.Passed, $p.Failed, $p.Skipped)
        Write-Host ("Total: {0} passed, {1} failed, {2} skipped" -f ($unit.Passed + $p.Passed), ($unit.Failed + $p.Failed), ($unit.Skipped + $p.Skipped))
        if ($unitFailed -or $unit.Failed -gt 0 -or $code -ne 0 -or $p.Failed -gt 0) { throw 'Tests failed.' }
    }
    finally { Pop-Location }
}

function Get-NuGetPackagesFolder {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    return Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
}

function Invoke-Demo {
    Invoke-Build
    $code = Invoke-ChildPwsh (Join-Path $Root 'examples/Demo.ps1') @('-ModuleManifest', $ModuleManifest)
    if ($code -ne 0) { throw "The demo failed with exit code $code." }
}

function Invoke-Bench {
    Invoke-Build
    foreach ($bench in Get-ChildItem (Join-Path $Root 'bench') -Filter *.Bench.ps1) {
        Write-Host "> $($bench.Name)"
        $code = Invoke-ChildPwsh $bench.FullName @('-ModuleManifest', $ModuleManifest)
        if ($code -ne 0) { throw "$($bench.Name) failed with exit code $code." }
    }
}

function Invoke-Package {
    Invoke-Build
    $code = Invoke-ChildPwsh (Join-Path $Root 'build/New-ModulePackage.ps1') @('-ModuleDirectory', $ModuleDir, '-OutputDirectory', (Join-Path $Out 'packages'))
    if ($code -ne 0) { throw "Packaging failed with exit code $code." }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
}
