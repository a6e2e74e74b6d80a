using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Runtime;

namespace TrainableTokens.Cmdlets;

/// <summary>Reports what this machine offers the module: versions, backend, threads, GPUs, native shim, a real computation.</summary>
[Cmdlet(VerbsCommon.Get, "TrainableTokensEnvironment")]
[OutputType("TrainableTokens.Core.Runtime.EnvironmentReport")]
public sealed class GetTrainableTokensEnvironment : PSCmdlet
{
    protected override void EndProcessing()
    {
        WriteVerbose("Loading libtorch and running a 64x64 matrix product as a compute check.");
        try
        {
            WriteObject(Collect());
        }
        catch (System.Exception e) when (e is not PipelineStoppedException)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
    }

    // Engine types stay inside non-inlined methods so PowerShell does not resolve them while binding the cmdlet.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object Collect() => EnvironmentProbe.Collect();
}
