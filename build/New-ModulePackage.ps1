<#
.SYNOPSIS
    Packs the built module into a .nupkg that PSResourceGet installs from a local folder repository.
.DESCRIPTION
    Uses Publish-PSResource (shipped with PowerShell 7.4+) against a temporary folder repository, so the package
    is exactly what PSResourceGet itself produces and accepts. The temporary repository registration is removed
    afterwards; the user's own repository list is left as it was.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleDirectory,
    [Parameter(Mandatory)] [string] $OutputDirectory
)
$ErrorActionPreference = 'Stop'
New-Item -ItemType Directory -Force -Path $OutputDirectory | Out-Null
$name = "TrainableTokensBuild$([guid]::NewGuid().ToString('N').Substring(0, 8))"
Register-PSResourceRepository -Name $name -Uri (Resolve-Path $OutputDirectory).Path -Trusted
try {
    $manifest = Import-PowerShellDataFile (Join-Path $ModuleDirectory 'TrainableTokens.psd1')
    $existing = Join-Path $OutputDirectory "TrainableTokens.$($manifest.ModuleVersion).nupkg"
    if (Test-Path $existing) { Remove-Item $existing }
    Publish-PSResource -Path $ModuleDirectory -Repository $name
    Get-Item $existing
}
finally {
    Unregister-PSResourceRepository -Name $name
}
