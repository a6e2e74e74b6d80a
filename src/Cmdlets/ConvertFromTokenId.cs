using System;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>Turns token ids back into text (and their vocabulary entries), exactly as Hugging Face's tokenizer.decode(ids).</summary>
[Cmdlet(VerbsData.ConvertFrom, "TokenId")]
[OutputType(typeof(TokenIds))]
public sealed class ConvertFromTokenId : TokenizerCmdlet
{
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Ids")]
    [AllowEmptyCollection]
    public int[] Id { get; set; } = Array.Empty<int>();

    [Parameter]
    public SwitchParameter SkipSpecialTokens { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            WriteObject(TokenizerSession.Decode(Tokenizer!, Id, SkipSpecialTokens));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }
}
