BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "tt-package-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $work | Out-Null
}
AfterAll { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }

Describe 'The module package' {
    It 'is a .nupkg that Install-PSResource installs from a local folder repository, and the installed module computes' {
        $feed = Join-Path $work 'feed'
        $packer = Join-Path $PSScriptRoot '../../build/New-ModulePackage.ps1'
        # A private HOME for the child keeps the repository registration and the CurrentUser install away from the
        # real user's (PSResourceGet reads its folders when the process starts).
        $savedHome = $env:HOME
        # The folder must exist: .NET treats a missing HOME as unset and PSResourceGet then writes into the current folder.
        $env:HOME = (New-Item -ItemType Directory -Force -Path (Join-Path $work 'home')).FullName
        New-Item -ItemType Directory -Force -Path (Join-Path $env:HOME '.config'), (Join-Path $env:HOME '.local/share') | Out-Null
        try {
        $result = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Set-Location '$work'; [Environment]::CurrentDirectory = '$work'
& '$packer' -ModuleDirectory '$ModuleDirectory' -OutputDirectory '$feed' | Out-Null
Register-PSResourceRepository -Name LocalFeed -Uri '$feed' -Trusted
Install-PSResource -Name TrainableTokens -Repository LocalFeed -Scope CurrentUser -TrustRepository
`$installed = Get-InstalledPSResource -Name TrainableTokens -Scope CurrentUser
'installed:' + `$installed.Version
Import-Module (Join-Path `$installed.InstalledLocation "TrainableTokens/`$(`$installed.Version)/TrainableTokens.psd1")
'compute:' + (Get-TrainableTokensEnvironment).ComputeCheckPassed
"@
        }
        finally { $env:HOME = $savedHome }
        $version = (Import-PowerShellDataFile $ModuleManifest).ModuleVersion
        Join-Path $feed "TrainableTokens.$version.nupkg" | Should -Exist
        $result.Output | Should -Contain "installed:$version"
        $result.Output | Should -Contain 'compute:True'
    }
}
