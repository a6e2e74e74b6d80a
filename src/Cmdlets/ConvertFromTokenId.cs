using System;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>Turns token ids back into text (and their vocabulary entries), exactly as Hugging Face's tokenizer.decode(ids).</summary>
[Cmdlet(VerbsData.ConvertFrom, "TokenId")]
[OutputType(typeof(PSObject))]
public sealed class ConvertFromTokenId : PSCmdlet
{
    private object? _tokenizer;

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Ids")]
    [AllowEmptyCollection]
    public int[] Id { get; set; } = Array.Empty<int>();

    [Parameter]
    public SwitchParameter SkipSpecialTokens { get; set; }

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
        try
        {
            WriteObject(TokenizerSession.Decode(_tokenizer!, Id, SkipSpecialTokens));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
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
