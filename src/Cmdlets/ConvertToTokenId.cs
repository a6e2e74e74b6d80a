using System;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>Turns text into the token ids a model's tokenizer gives, exactly as Hugging Face's tokenizer(text).</summary>
[Cmdlet(VerbsData.ConvertTo, "TokenId")]
[OutputType(typeof(PSObject))]
public sealed class ConvertToTokenId : PSCmdlet
{
    private object? _tokenizer;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string[] Text { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter NoSpecialTokens { get; set; }

    protected override void BeginProcessing()
    {
        var folder = GetUnresolvedProviderPathFromPSPath(Model);
        WriteVerbose($"Loading the tokenizer of {folder}.");
        try
        {
            _tokenizer = TokenizerSession.Load(folder);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
    }

    protected override void ProcessRecord()
    {
        foreach (var text in Text)
        {
            try
            {
                WriteObject(TokenizerSession.Encode(_tokenizer!, text ?? "", !NoSpecialTokens));
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
    }

    protected override void EndProcessing() => Release();

    protected override void StopProcessing() => Release();

    private void Release()
    {
        TokenizerSession.Release(_tokenizer);
        _tokenizer = null;
    }
}
