using System;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Tuners.TrainableTokens;

namespace TrainableTokens.Cmdlets;

/// <summary>Describes an adapter folder (PEFT format): config, tensor names, shapes, dtype, token ids; LoRA adapters with
/// their rank, alpha, targets and token rows.</summary>
[Cmdlet(VerbsCommon.Get, "TokenAdapter")]
[OutputType("TrainableTokens.Core.Tuners.TrainableTokens.AdapterSummary", "TrainableTokens.Core.Tuners.Lora.LoraAdapterSummary")]
public sealed class GetTokenAdapter : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "AdapterFolder")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AdapterFolderCompleter))]
    public string[] Path { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        foreach (var path in Path)
        {
            try
            {
                WriteObject(Read(GetUnresolvedProviderPathFromPSPath(path)));
            }
            catch (Exception e) when (e is not PipelineStoppedException)
            {
                WriteError(ErrorRecords.From(e));
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object Read(string folder) =>
        (object?)TrainableTokens.Core.Tuners.Lora.LoraAdapterSummary.TryRead(folder) ?? AdapterSummary.Read(folder);
}
