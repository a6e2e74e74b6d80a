using System;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>Turns text into the token ids a model's tokenizer gives, exactly as Hugging Face's tokenizer(text).</summary>
[Cmdlet(VerbsData.ConvertTo, "TokenId")]
[OutputType(typeof(TokenIds))]
public sealed class ConvertToTokenId : TokenizerCmdlet
{
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyString]
    public string[] Text { get; set; } = Array.Empty<string>();

    [Parameter]
    public SwitchParameter NoSpecialTokens { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var text in Text)
        {
            try
            {
                WriteObject(TokenizerSession.Encode(Tokenizer!, text ?? "", !NoSpecialTokens));
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
    }
}
