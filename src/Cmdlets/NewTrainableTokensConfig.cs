using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Makes a run config (the trainable_tokens and training sections) from parameters, checks it against the schema, and
/// returns it or writes it as a YAML run file. Parameters are the schema's settings in PascalCase; a Pester test keeps
/// the two in step.
/// </summary>
[Cmdlet(VerbsCommon.New, "TrainableTokensConfig", SupportsShouldProcess = true, DefaultParameterSetName = ObjectSet)]
[OutputType("TrainableTokens.Core.Configuration.RunConfig", ParameterSetName = new[] { ObjectSet })]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { FileSet })]
public sealed class NewTrainableTokensConfig : PSCmdlet
{
    private const string ObjectSet = "Object";
    private const string FileSet = "File";

    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "TokenIndices")]
    [ValidateNotNullOrEmpty]
    public int[] TokenIndex { get; set; } = Array.Empty<int>();

    /// <summary>Tokens by their text, turned into ids with the tokenizer of -Model (-BaseModel).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Token { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetModuleCompleter))]
    public string[] TargetModule { get; set; } = Array.Empty<string>();

    /// <summary>Train the LM head's rows too: target_modules gets lm_head beside the input embedding.</summary>
    [Parameter] public SwitchParameter IncludeOutputHead { get; set; }

    [Parameter] public bool InitWeights { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true), Alias("Model"), ArgumentCompleter(typeof(ModelFolderCompleter))]
    public string BaseModel { get; set; } = "";
    [Parameter] public string Dataset { get; set; } = "";
    [Parameter] public string OutputDir { get; set; } = "";
    [Parameter] public SwitchParameter OverwriteOutputDir { get; set; }
    [Parameter] public double LearningRate { get; set; }
    [Parameter] public double WeightDecay { get; set; }
    [Parameter, ArgumentCompleter(typeof(SchemaValueCompleter))] public string LrSchedulerType { get; set; } = "";
    [Parameter] public int WarmupSteps { get; set; }
    [Parameter] public double WarmupRatio { get; set; }
    [Parameter] public double NumTrainEpochs { get; set; }
    [Parameter] public int MaxSteps { get; set; }
    [Parameter, Alias("BatchSize")] public int PerDeviceTrainBatchSize { get; set; }
    [Parameter] public int GradientAccumulationSteps { get; set; }
    [Parameter] public int MaxSeqLength { get; set; }
    [Parameter] public SwitchParameter GradientCheckpointing { get; set; }
    [Parameter] public double MaxGradNorm { get; set; }
    [Parameter] public int Seed { get; set; }
    [Parameter, ArgumentCompleter(typeof(SchemaValueCompleter))] public string Dtype { get; set; } = "";
    [Parameter, ArgumentCompleter(typeof(DeviceCompleter))] public string Device { get; set; } = "";
    [Parameter] public double EvalSplit { get; set; }
    [Parameter] public int EvalSteps { get; set; }
    [Parameter] public string EvalDataset { get; set; } = "";
    [Parameter, ArgumentCompleter(typeof(SchemaValueCompleter))] public string EvalStrategy { get; set; } = "";
    [Parameter] public int PerDeviceEvalBatchSize { get; set; }
    [Parameter] public SwitchParameter LoadBestModelAtEnd { get; set; }
    [Parameter] public string MetricForBestModel { get; set; } = "";
    [Parameter] public bool GreaterIsBetter { get; set; }
    [Parameter] public int EarlyStoppingPatience { get; set; }
    [Parameter] public double EarlyStoppingThreshold { get; set; }
    [Parameter] public int SaveSteps { get; set; }
    [Parameter] public int SaveTotalLimit { get; set; }
    [Parameter] public string ResumeFromCheckpoint { get; set; } = "";
    [Parameter] public int LoggingSteps { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = FileSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(ParameterSetName = FileSet)]
    public SwitchParameter Force { get; set; }

    private readonly List<int> _piped = new();
    private bool _anyPiped;

    // Objects piped in (Add-TokenizerToken's tokens, one per object) add their ids; the config is made once, at the end.
    protected override void ProcessRecord()
    {
        if (MyInvocation.ExpectingInput && MyInvocation.BoundParameters.ContainsKey(nameof(TokenIndex)))
        {
            _anyPiped = true;
            foreach (var id in TokenIndex) if (!_piped.Contains(id)) _piped.Add(id);
        }
    }

    protected override void EndProcessing()
    {
        if (_anyPiped) TokenIndex = _piped.ToArray();
        var file = ParameterSetName == FileSet ? GetUnresolvedProviderPathFromPSPath(Path) : null;
        var settings = new Dictionary<string, object>(MyInvocation.BoundParameters, StringComparer.OrdinalIgnoreCase);
        if (_anyPiped) settings[nameof(TokenIndex)] = TokenIndex;
        if (!SelectTokens(settings)) return;
        // Relative paths in a run file are relative to the file's folder: rewrite the ones given here (relative to the
        // current location) so that they still point at the same place.
        foreach (var name in new[] { nameof(BaseModel), nameof(Dataset), nameof(OutputDir), nameof(ResumeFromCheckpoint), nameof(EvalDataset) })
        {
            if (file is null || !settings.TryGetValue(name, out var value) || value is not string text || text == "latest") continue;
            settings[name] = RelativeTo(System.IO.Path.GetDirectoryName(file)!, GetUnresolvedProviderPathFromPSPath(text));
        }

        object config;
        IReadOnlyList<(bool IsError, string Field, string Message)> findings;
        try
        {
            (config, findings) = Build(this, settings);
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
            return;
        }
        foreach (var (_, field, message) in findings.Where(f => !f.IsError)) WriteWarning($"{field}: {message}");
        var errors = findings.Where(f => f.IsError).ToList();
        foreach (var (_, field, message) in errors)
            WriteError(new ErrorRecord(new ArgumentException($"{ParameterOf(field)}: {message}"), "InvalidConfigValue", ErrorCategory.InvalidArgument, field));
        if (errors.Count > 0) return;

        if (file is null)
        {
            WriteObject(config);
            return;
        }
        if (File.Exists(file) && !Force)
        {
            WriteError(new ErrorRecord(new IOException($"'{file}' already exists. Use -Force to overwrite it."), "RunFileExists", ErrorCategory.ResourceExists, file));
            return;
        }
        if (!ShouldProcess(file, "Write a TrainableTokens run file")) return;
        try
        {
            Save(config, file, SchemaLocation());
            WriteObject(new FileInfo(file));
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            WriteError(ErrorRecords.From(e));
        }
    }

    /// <summary>
    /// -Token strings become ids (after any -TokenIndex ids) and -IncludeOutputHead adds lm_head to target_modules, both
    /// with the model folder; false (errors written) when a string is not one token or the model is missing.
    /// </summary>
    private bool SelectTokens(Dictionary<string, object> settings)
    {
        bool byText = settings.ContainsKey(nameof(Token)), head = IncludeOutputHead.IsPresent;
        if (!settings.ContainsKey(nameof(TokenIndex)) && !byText)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                "Give the tokens to train: -TokenIndex with their ids, or -Token with their text and -Model with the model folder."),
                "NoTokens", ErrorCategory.InvalidArgument, null));
        var model = settings.ContainsKey(nameof(BaseModel)) ? GetUnresolvedProviderPathFromPSPath(BaseModel) : null;
        if (model is null && (byText || (head && TargetModule.Length == 0)))
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(byText
                ? "-Token needs -Model (or -BaseModel): the model folder whose tokenizer turns the strings into ids."
                : "-IncludeOutputHead needs -Model (or -BaseModel) to name the input embedding beside lm_head, or -TargetModule with its name (for example -TargetModule embed_tokens)."),
                byText ? "TokenNeedsModel" : "OutputHeadNeedsModel", ErrorCategory.InvalidArgument, null));
        try
        {
            if (byText)
            {
                WriteVerbose($"Looking up {Token.Length} token(s) in the tokenizer of {model}.");
                var (ids, problems) = Lookup(model!, Token);
                foreach (var problem in problems) WriteError(ErrorRecords.From(problem));
                if (problems.Count > 0) return false;
                TokenIndex = TokenIndex.Concat(ids).ToArray();
            }
            if (head)
            {
                TargetModule = WithOutputHead(TargetModule, model);
                settings[nameof(TargetModule)] = TargetModule;
            }
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            ThrowTerminatingError(ErrorRecords.From(e));
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (int[] Ids, IReadOnlyList<Exception> Problems) Lookup(string model, string[] tokens)
    {
        var (ids, problems) = TrainableTokens.Core.Tokenization.TokenSelection.Resolve(model, tokens);
        return (ids.ToArray(), problems);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string[] WithOutputHead(string[] targets, string? model) =>
        TrainableTokens.Core.Tokenization.TokenSelection.WithOutputHead(targets, model).ToArray();

    // Engine types stay inside non-inlined methods so PowerShell does not resolve them while binding the cmdlet.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (object Config, IReadOnlyList<(bool IsError, string Field, string Message)> Findings) Build(NewTrainableTokensConfig p, IDictionary<string, object> bound)
    {
        T Get<T>(string name, T otherwise) => bound.TryGetValue(name, out var value) ? (T)value : otherwise;
        var tokens = new TrainableTokensConfig
        {
            TokenIndices = p.TokenIndex,
            TargetModules = bound.ContainsKey(nameof(TargetModule)) ? StringOrList.FromList(p.TargetModule) : null,
            InitWeights = Get(nameof(InitWeights), true),
        };
        var d = new TrainingConfig();
        var training = new TrainingConfig
        {
            BaseModel = Get(nameof(BaseModel), d.BaseModel),
            Dataset = Get(nameof(Dataset), d.Dataset),
            OutputDir = Get(nameof(OutputDir), d.OutputDir),
            OverwriteOutputDir = bound.ContainsKey(nameof(OverwriteOutputDir)) ? p.OverwriteOutputDir.IsPresent : d.OverwriteOutputDir,
            LearningRate = Get(nameof(LearningRate), d.LearningRate),
            WeightDecay = Get(nameof(WeightDecay), d.WeightDecay),
            LrSchedulerType = Get(nameof(LrSchedulerType), d.LrSchedulerType),
            WarmupSteps = Get(nameof(WarmupSteps), d.WarmupSteps),
            WarmupRatio = Get(nameof(WarmupRatio), d.WarmupRatio),
            NumTrainEpochs = Get(nameof(NumTrainEpochs), d.NumTrainEpochs),
            MaxSteps = bound.ContainsKey(nameof(MaxSteps)) ? p.MaxSteps : d.MaxSteps,
            PerDeviceTrainBatchSize = Get(nameof(PerDeviceTrainBatchSize), d.PerDeviceTrainBatchSize),
            GradientAccumulationSteps = Get(nameof(GradientAccumulationSteps), d.GradientAccumulationSteps),
            MaxSeqLength = Get(nameof(MaxSeqLength), d.MaxSeqLength),
            GradientCheckpointing = bound.ContainsKey(nameof(GradientCheckpointing)) ? p.GradientCheckpointing.IsPresent : d.GradientCheckpointing,
            MaxGradNorm = Get(nameof(MaxGradNorm), d.MaxGradNorm),
            Seed = Get(nameof(Seed), d.Seed),
            Dtype = Get(nameof(Dtype), d.Dtype),
            Device = Get(nameof(Device), d.Device),
            EvalSplit = Get(nameof(EvalSplit), d.EvalSplit),
            EvalSteps = bound.ContainsKey(nameof(EvalSteps)) ? p.EvalSteps : d.EvalSteps,
            EvalDataset = Get(nameof(EvalDataset), d.EvalDataset),
            EvalStrategy = Get(nameof(EvalStrategy), d.EvalStrategy),
            PerDeviceEvalBatchSize = Get(nameof(PerDeviceEvalBatchSize), d.PerDeviceEvalBatchSize),
            LoadBestModelAtEnd = bound.ContainsKey(nameof(LoadBestModelAtEnd)) ? p.LoadBestModelAtEnd.IsPresent : d.LoadBestModelAtEnd,
            MetricForBestModel = Get(nameof(MetricForBestModel), d.MetricForBestModel),
            GreaterIsBetter = bound.ContainsKey(nameof(GreaterIsBetter)) ? p.GreaterIsBetter : d.GreaterIsBetter,
            EarlyStoppingPatience = bound.ContainsKey(nameof(EarlyStoppingPatience)) ? p.EarlyStoppingPatience : d.EarlyStoppingPatience,
            EarlyStoppingThreshold = Get(nameof(EarlyStoppingThreshold), d.EarlyStoppingThreshold),
            SaveSteps = Get(nameof(SaveSteps), d.SaveSteps),
            SaveTotalLimit = bound.ContainsKey(nameof(SaveTotalLimit)) ? p.SaveTotalLimit : d.SaveTotalLimit,
            ResumeFromCheckpoint = Get(nameof(ResumeFromCheckpoint), d.ResumeFromCheckpoint),
            LoggingSteps = Get(nameof(LoggingSteps), d.LoggingSteps),
        };
        var config = new RunConfig { TrainableTokens = tokens, Training = training };
        var findings = config.Validate().Select(f => (f.Severity == ConfigSeverity.Error, f.Field, f.Message)).ToList();
        return (config, findings);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Save(object config, string file, string? schemaLocation) => ((RunConfig)config).Save(file, schemaLocation);

    /// <summary>The module's RunConfig.schema.json as a file URI, for the yaml-language-server line; null when the module has none.</summary>
    private static string? SchemaLocation()
    {
        var moduleFolder = System.IO.Path.GetDirectoryName(typeof(NewTrainableTokensConfig).Assembly.Location)!;
        var schema = System.IO.Path.Combine(moduleFolder, "schemas", "RunConfig.schema.json");
        return File.Exists(schema) ? new Uri(schema).AbsoluteUri : null;
    }

    private static string RelativeTo(string folder, string path)
    {
        var relative = System.IO.Path.GetRelativePath(folder, path);
        if (System.IO.Path.IsPathRooted(relative)) return relative;
        return relative.StartsWith("..", StringComparison.Ordinal) ? relative.Replace('\\', '/') : "./" + relative.Replace('\\', '/');
    }

    /// <summary>"training.learning_rate" -> "-LearningRate", "trainable_tokens.token_indices[1]" -> "-TokenIndex".</summary>
    private static string ParameterOf(string field)
    {
        var key = field.Split('.').Last();
        var bracket = key.IndexOf('[');
        if (bracket >= 0) key = key.Substring(0, bracket);
        return key switch
        {
            "token_indices" => "-TokenIndex",
            "target_modules" => "-TargetModule",
            _ => "-" + string.Concat(key.Split('_').Select(w => w.Length == 0 ? "" : char.ToUpperInvariant(w[0]) + w.Substring(1))),
        };
    }
}
