@{
    RootModule           = 'TrainableTokens.Cmdlets.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '4cb33669-105e-4a64-9dd1-065bcbaab205'
    Author               = 'TrainableTokens contributors'
    CompanyName          = 'TrainableTokens contributors'
    Copyright            = '(c) TrainableTokens contributors. MIT licence.'
    Description          = 'Fine-tunes only chosen rows of a language model''s token-embedding matrix (Hugging Face PEFT''s Trainable Tokens method) with TorchSharp, writing PEFT-compatible adapters.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('TrainableTokens.Format.ps1xml')
    # Pester Should operators (-ChangeOnlyTokens, -PredictToken, -LowerLossThan); it exports nothing.
    NestedModules        = @('TrainableTokens.Should.psm1')
    CmdletsToExport      = @(
        'Add-TokenizerToken'
        'ConvertFrom-TokenId'
        'ConvertTo-TokenId'
        'Export-TokenTrainingJob'
        'Find-UntrainedToken'
        'Import-TokenTrainingJob'
        'Get-TrainableTokensEnvironment'
        'Invoke-TokenModel'
        'Invoke-TokenGeneration'
        'Measure-TokenDataset'
        'Measure-TokenModel'
        'New-TinyModel'
        'Merge-TokenAdapter'
        'Get-TokenAdapter'
        'New-TrainableTokensConfig'
        'Start-TokenTraining'
        'Test-TrainableTokensConfig'
        'Test-TokenAdapter'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('PEFT', 'TrainableTokens', 'Embeddings', 'FineTuning', 'TorchSharp', 'LLM', 'MachineLearning', 'Linux', 'PSEdition_Core')
            LicenseUri   = 'https://github.com/trainabletokens/TrainableTokens/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/trainabletokens/TrainableTokens'
            ReleaseNotes = 'Foundation: module layout, libtorch loading with dependency isolation, Get-TrainableTokensEnvironment.'
        }
    }
}
