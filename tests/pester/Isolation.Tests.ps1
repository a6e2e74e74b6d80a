BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $oldYaml = Join-Path $packages 'yamldotnet/16.3.0/lib/net8.0/YamlDotNet.dll'
}

Describe 'Dependency isolation' {
    It 'imports and computes in a session that loaded a different YamlDotNet first' {
        $oldYaml | Should -Exist
        $result = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$oldYaml'
'session:' + [YamlDotNet.Serialization.Deserializer].Assembly.GetName().Version
Import-Module '$ModuleManifest'
`$e = Get-TrainableTokensEnvironment
'engine:' + `$e.YamlDotNetVersion
'compute:' + `$e.ComputeCheckPassed
"@
        $result.Output -join "`n" | Should -Match 'session:16\.'
        $result.Output | Should -Contain 'engine:18.1.0'
        $result.Output | Should -Contain 'compute:True'
        $result.ExitCode | Should -Be 0
    }

    It 'survives Remove-Module and Import-Module in one session' {
        $result = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
(Get-TrainableTokensEnvironment).ComputeCheckPassed
Remove-Module TrainableTokens
Import-Module '$ModuleManifest'
(Get-TrainableTokensEnvironment).ComputeCheckPassed
"@
        $result.Output | Should -Be @('True', 'True')
    }

    It 'reports a module folder without TorchSharp''s native library as NativeRuntimeUnavailable, naming the file' {
        # A copy of the module made of links, minus the one library: cheap, and the real folder stays intact.
        $broken = Join-Path ([System.IO.Path]::GetTempPath()) "tt-broken-$([guid]::NewGuid().ToString('N'))"
        try {
            New-Item -ItemType Directory -Path (Join-Path $broken 'Dependencies') | Out-Null
            Get-ChildItem $ModuleDirectory -File | ForEach-Object { Copy-Item $_.FullName $broken }
            Copy-Item -Recurse (Join-Path $ModuleDirectory 'en-US') $broken
            Get-ChildItem (Join-Path $ModuleDirectory 'Dependencies') -File | Where-Object Name -NE 'libLibTorchSharp.so' |
                ForEach-Object { New-Item -ItemType SymbolicLink -Path (Join-Path $broken "Dependencies/$($_.Name)") -Target $_.FullName | Out-Null }
            $result = Invoke-FreshPwsh @"
Import-Module '$broken/TrainableTokens.psd1'
try { Get-TrainableTokensEnvironment -ErrorAction Stop } catch { 'id:' + `$_.FullyQualifiedErrorId; 'category:' + `$_.CategoryInfo.Category; 'message:' + `$_.Exception.Message }
"@
            $result.Output | Should -Contain 'id:NativeRuntimeUnavailable,TrainableTokens.Cmdlets.GetTrainableTokensEnvironment'
            $result.Output | Should -Contain 'category:NotInstalled'
            ($result.Output -join "`n") | Should -Match 'libLibTorchSharp\.so.*rebuild'
            Join-Path $broken 'Dependencies/cpu' | Should -Not -Exist
        }
        finally { Remove-Item -Recurse -Force $broken -ErrorAction SilentlyContinue }
    }

    It 'reports a module folder without the tokenizer''s native library as NativeRuntimeUnavailable, naming the file' {
        $broken = Join-Path ([System.IO.Path]::GetTempPath()) "tt-broken-tok-$([guid]::NewGuid().ToString('N'))"
        $fixture = (Resolve-Path (Join-Path $PSScriptRoot '../fixtures/tokenizers/llama2')).Path
        try {
            New-Item -ItemType Directory -Path (Join-Path $broken 'Dependencies') | Out-Null
            Get-ChildItem $ModuleDirectory -File | ForEach-Object { Copy-Item $_.FullName $broken }
            Copy-Item -Recurse (Join-Path $ModuleDirectory 'en-US') $broken
            Get-ChildItem (Join-Path $ModuleDirectory 'Dependencies') -File | Where-Object Name -NE 'libhf_tokenizers.so' |
                ForEach-Object { New-Item -ItemType SymbolicLink -Path (Join-Path $broken "Dependencies/$($_.Name)") -Target $_.FullName | Out-Null }
            $result = Invoke-FreshPwsh @"
Import-Module '$broken/TrainableTokens.psd1'
try { ConvertTo-TokenId '$fixture' 'x' -ErrorAction Stop } catch { 'id:' + `$_.FullyQualifiedErrorId; 'message:' + `$_.Exception.Message }
"@
            $result.Output | Should -Contain 'id:NativeRuntimeUnavailable,TrainableTokens.Cmdlets.ConvertToTokenId'
            ($result.Output -join "`n") | Should -Match 'libhf_tokenizers.*rebuild'
        }
        finally { Remove-Item -Recurse -Force $broken -ErrorAction SilentlyContinue }
    }
}
