# Every example in every exported cmdlet's Get-Help runs as written, from a folder holding a fresh copy of examples/
# (so ./examples/models/tiny-llama3 and the like resolve, and outputs land under that folder's ./out), and fails on any
# error. Cmdlets added later are covered without changes here.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $module = Import-Module $ModuleManifest -Force -PassThru
    $cases = foreach ($command in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
        $number = 0
        foreach ($example in @((Get-Help $command.Name -Examples).Examples.Example)) {
            $number++
            @{ Cmdlet = $command.Name; Number = $number; Title = ($example.Title -replace '^-+\s*Example \d+:\s*|\s*-+$', ''); Code = [string]$example.Code }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-Module $ModuleManifest -Force
    $script:Examples = (Resolve-Path (Join-Path $PSScriptRoot '../../examples')).Path
    # What examples/ holds before any example runs: running them must not change it.
    function Get-FolderState([string] $Path) {
        Get-ChildItem -Recurse -File -Force $Path | Sort-Object FullName | ForEach-Object { "$($_.FullName) $($_.Length) $((Get-FileHash $_.FullName -Algorithm SHA256).Hash)" }
    }
    $script:Before = Get-FolderState $Examples
}
AfterAll { Remove-Module TrainableTokens -Force -ErrorAction SilentlyContinue }

Describe 'Get-Help examples run as written against examples/' {
    It 'found examples for every exported cmdlet' -ForEach @{ Found = @($cases.Cmdlet | Sort-Object -Unique) } {
        $Found | Should -Be @((Get-Command -Module TrainableTokens -CommandType Cmdlet).Name | Sort-Object)
    }

    It '<Cmdlet> example <Number>: <Title>' -ForEach $cases {
        $work = Join-Path ([IO.Path]::GetTempPath()) "tt-example-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $work | Out-Null
        Copy-Item -Recurse $Examples (Join-Path $work 'examples')
        Push-Location $work
        try {
            $ErrorActionPreference = 'Stop'
            $Code | Should -Not -BeNullOrEmpty
            # Output, verbose and host text go nowhere; any error (non-terminating ones too, under Stop) fails the test.
            $null = & ([scriptblock]::Create($Code)) 3>$null 4>$null 6>$null
        }
        finally {
            Pop-Location
            Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
        }
    }

    It 'leaves examples/ in the repository unchanged' {
        Get-FolderState $Examples | Should -Be $Before
    }
}
