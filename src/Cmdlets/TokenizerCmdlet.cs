using System;
using System.Management.Automation;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// The shared half of the cmdlets that read a model folder's tokenizer: the -Model parameter, loading the tokenizer
/// once before the pipeline runs, and releasing it when the pipeline ends or is stopped.
/// </summary>
public abstract class TokenizerCmdlet : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string Model { get; set; } = "";

    /// <summary>The loaded tokenizer, typed as object so that no engine type appears in a cmdlet's signature.</summary>
    protected object? Tokenizer { get; private set; }

    protected override void BeginProcessing()
    {
        var folder = GetUnresolvedProviderPathFromPSPath(Model);
        WriteVerbose($"Loading the tokenizer of {folder}.");
        try
        {
            Tokenizer = TokenizerSession.Load(folder);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
    }

    protected override void EndProcessing() => Release();

    protected override void StopProcessing() => Release();

    private void Release()
    {
        TokenizerSession.Release(Tokenizer);
        Tokenizer = null;
    }
}
