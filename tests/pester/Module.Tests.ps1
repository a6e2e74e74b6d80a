BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
}

Describe 'The module manifest' {
    It 'passes Test-ModuleManifest' {
        { Test-ModuleManifest -Path $ModuleManifest -ErrorAction Stop } | Should -Not -Throw
    }

    It 'declares PowerShell 7.4 on Core, tags, licence and project' {
        $data = Import-PowerShellDataFile $ModuleManifest
        $data.PowerShellVersion | Should -Be '7.4'
        $data.CompatiblePSEditions | Should -Be @('Core')
        $data.PrivateData.PSData.Tags | Should -Contain 'PEFT'
        $data.PrivateData.PSData.LicenseUri | Should -Match '^https://'
        $data.PrivateData.PSData.ProjectUri | Should -Match '^https://'
    }

    It 'lists every exported cmdlet by name, without wildcards' {
        $data = Import-PowerShellDataFile $ModuleManifest
        foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'AliasesToExport', 'VariablesToExport') {
            @($data[$key]) -join ',' | Should -Not -Match '\*' -Because "$key must not use wildcards"
        }
        $module = Import-Module $ModuleManifest -PassThru -Force
        try {
            @($module.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($data.CmdletsToExport | Sort-Object)
        }
        finally { Remove-Module $module.Name -Force }
    }

    It 'keeps the engine and its dependencies out of the module root' {
        Get-ChildItem $ModuleDirectory -Filter *.dll | ForEach-Object Name | Should -Be @('TrainableTokens.Cmdlets.dll')
        Join-Path $ModuleDirectory 'Dependencies/TrainableTokens.Core.dll' | Should -Exist
        Join-Path $ModuleDirectory 'Dependencies/libtorch_cpu.so' | Should -Exist
        Join-Path $ModuleDirectory 'Dependencies/libLibTorchSharp.so' | Should -Exist
    }

    It 'has no cpu/ folder of copied natives (TorchSharp''s fallback loader never ran)' {
        Join-Path $ModuleDirectory 'Dependencies/cpu' | Should -Not -Exist
    }
}

Describe 'Help for every cmdlet' {
    BeforeAll {
        Import-Module $ModuleManifest -Force
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    }
    AfterAll { Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue }

    It '<_> has a synopsis, a description, examples and described parameters' -ForEach @(
        (Import-PowerShellDataFile (Join-Path (Split-Path $ModuleManifest) 'TrainableTokens.psd1')).CmdletsToExport
    ) {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$_\s*\["  # an auto-generated synopsis is just the syntax
        ($help.Description.Text -join ' ') | Should -Match '\w{20,}|(\w+\s){10,}'
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 1
        foreach ($parameter in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common }) {
            ($help.Parameters.Parameter | Where-Object Name -EQ $parameter).Description.Text | Should -Not -BeNullOrEmpty -Because "-$parameter needs a description"
        }
    }

    It 'has an about_TrainableTokens topic' {
        (Get-Help about_TrainableTokens | Out-String) | Should -Match 'Trainable Tokens'
    }
}
