using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Cmdlets;

/// <summary>Writes a small random Hugging Face model folder, deterministic from a seed, for tests, demos and trying things out.</summary>
[Cmdlet(VerbsCommon.New, "TinyModel", SupportsShouldProcess = true)]
[OutputType(typeof(TinyModel))]
public sealed class NewTinyModel : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateSet("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "gemma3", "phi3", "smollm3", "olmo2", "gpt2")]
    public string ModelType { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter] public int Seed { get; set; }

    [Parameter]
    [ValidateSet("float32", "bfloat16", "float16")]
    public string Dtype { get; set; } = "float32";

    [Parameter] public SwitchParameter Tied { get; set; }
    [Parameter] public SwitchParameter Untied { get; set; }

    [Parameter]
    [ValidateRange(1024, long.MaxValue)]
    public long MaxShardBytes { get; set; }

    [Parameter, ValidateRange(2, 1_000_000)] public int VocabSize { get; set; } = 128;
    [Parameter, ValidateRange(2, 65536)] public int HiddenSize { get; set; } = 64;
    [Parameter, ValidateRange(1, 262144)] public int IntermediateSize { get; set; } = 128;
    [Parameter, ValidateRange(1, 256)] public int NumLayers { get; set; } = 2;
    [Parameter, ValidateRange(1, 256)] public int NumHeads { get; set; } = 4;
    [Parameter, ValidateRange(1, 256)] public int NumKeyValueHeads { get; set; } = 2;
    [Parameter, ValidateRange(2, 1_000_000)] public int MaxPositions { get; set; } = 128;
    [Parameter, ValidateRange(1, int.MaxValue)] public int SlidingWindow { get; set; }

    /// <summary>A model or tokenizer folder whose tokenizer files are copied in.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Tokenizer { get; set; } = "";

    [Parameter] public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        if (Tied && Untied)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("Give -Tied or -Untied, not both."), "TiedAndUntied", ErrorCategory.InvalidArgument, null));
        }
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        var tokenizer = MyInvocation.BoundParameters.ContainsKey(nameof(Tokenizer)) ? GetUnresolvedProviderPathFromPSPath(Tokenizer) : null;
        try
        {
            CheckOutput(path, Force, tokenizer);
            if (tokenizer is not null && MyInvocation.BoundParameters.ContainsKey(nameof(VocabSize)) && TokenizerSize(tokenizer) is var size && VocabSize < size)
            {
                WriteError(new ErrorRecord(new ArgumentException(
                    $"-VocabSize {VocabSize} is smaller than the tokenizer in '{tokenizer}' ({size} tokens): its ids past {VocabSize - 1} would have no embedding row. Leave -VocabSize out to take the tokenizer's size, or give {size} or more."),
                    "VocabSmallerThanTokenizer", ErrorCategory.InvalidArgument, VocabSize));
                return;
            }
            if (!ShouldProcess(path, $"Write a random {ModelType} model")) return;
            WriteObject(Create(path, this, tokenizer));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CheckOutput(string path, bool force, string? tokenizer)
    {
        // Replacing -Path must never touch the tokenizer folder it copies from.
        if (tokenizer is not null)
            TrainableTokens.Core.IO.OutputGuard.EnsureApart(path, "-Path", new[] { new TrainableTokens.Core.IO.CommandInput("tokenizer folder", tokenizer) });
        TrainableTokens.Core.AtomicFolder.EnsureWritable(path, force, TrainableTokens.Core.Models.TinyModelFactory.Writer);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int TokenizerSize(string folder)
    {
        using var tokenizer = TrainableTokens.Core.Tokenization.ModelTokenizer.Load(folder);
        return tokenizer.Size;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TinyModel Create(string path, NewTinyModel p, string? tokenizer)
    {
        var spec = new TinyModelSpec
        {
            ModelType = p.ModelType,
            Seed = p.Seed,
            Dtype = p.Dtype,
            TieWordEmbeddings = p.Tied ? true : p.Untied ? false : null,
            MaxShardBytes = p.MaxShardBytes > 0 ? p.MaxShardBytes : null,
            VocabSize = p.VocabSize,
            HiddenSize = p.HiddenSize,
            IntermediateSize = p.IntermediateSize,
            NumLayers = p.NumLayers,
            NumHeads = p.NumHeads,
            NumKeyValueHeads = p.ModelType == "gpt2" ? p.NumHeads : p.NumKeyValueHeads,
            MaxPositions = p.MaxPositions,
            SlidingWindow = p.SlidingWindow > 0 ? p.SlidingWindow : null,
            TokenizerFolder = tokenizer,
        };
        var config = TinyModelFactory.Create(path, spec, p.Force);
        return new TinyModel
        {
            Path = path,
            ModelType = config.ModelType,
            VocabSize = config.VocabSize,
            HiddenSize = config.HiddenSize,
            NumLayers = config.NumLayers,
            Dtype = p.Dtype,
            TieWordEmbeddings = config.TieWordEmbeddings,
            Files = Directory.GetFiles(path),
        };
    }
}
