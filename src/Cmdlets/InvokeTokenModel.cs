using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Cmdlets;

/// <summary>Runs a forward pass of a Hugging Face model folder and writes logits and hidden states to a safetensors file.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "TokenModel", SupportsShouldProcess = true)]
[OutputType("TrainableTokens.Core.Models.ForwardCaptureResult")]
public sealed class InvokeTokenModel : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Path", "FullName", "OutputPath")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string Model { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Ids")]
    [ValidateNotNullOrEmpty]
    public int[] InputId { get; set; } = Array.Empty<int>();

    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string OutFile { get; set; } = "";

    [Parameter]
    [ValidateSet("float32", "bfloat16", "float16")]
    public string Dtype { get; set; } = "float32";

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(DeviceCompleter))]
    public string Device { get; set; } = "cpu";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("AdapterFolder")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(AdapterFolderCompleter))]
    public string? Adapter { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    private string? _written;

    protected override void ProcessRecord()
    {
        var model = GetUnresolvedProviderPathFromPSPath(Model);
        var outFile = GetUnresolvedProviderPathFromPSPath(OutFile);
        if (_written == outFile)
        {
            WriteError(new ErrorRecord(new IOException($"'{outFile}' already holds the previous sequence's outputs: Invoke-TokenModel writes one file per sequence. Pipe one sequence, or give each its own -OutFile with ForEach-Object."),
                "OutFileReused", ErrorCategory.ResourceExists, outFile));
            return;
        }
        if (File.Exists(outFile) && !Force)
        {
            WriteError(new ErrorRecord(new IOException($"'{outFile}' already exists. Use -Force to overwrite it."),
                "OutFileExists", ErrorCategory.ResourceExists, outFile));
            return;
        }
        if (!ShouldProcess(outFile, $"Write logits and hidden states of {model} for {InputId.Length} tokens")) return;
        WriteVerbose($"Loading {model} in {Dtype} on {Device}.");
        try
        {
            var adapter = Adapter is null ? null : GetUnresolvedProviderPathFromPSPath(Adapter);
            WriteObject(Run(model, InputId.Select(i => (long)i).ToArray(), outFile, Dtype, Device, adapter));
            _written = outFile;
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static object Run(string model, long[] ids, string outFile, string dtype, string device, string? adapter) =>
        ForwardCapture.Run(new ForwardCaptureRequest(model, ids, outFile) { Dtype = dtype, Device = device, AdapterFolder = adapter });
}
