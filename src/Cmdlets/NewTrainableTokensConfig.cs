using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using TrainableTokens.Core.Configuration;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Makes a run config (the trainable_tokens or, with -Method Lora, the lora section, and the training section) from
/// parameters, checks it against the schema, and returns it or writes it as a YAML run file. Parameters are the schema's
/// settings in PascalCase (LoRA's r, lora_alpha and lora_dropout are -Rank, -Alpha and -Dropout); a Pester test keeps
/// the two in step. One cmdlet for both methods, as the training settings are the same for both.
/// </summary>
[Cmdlet(VerbsCommon.New, "TrainableTokensConfig", SupportsShouldProcess = true, DefaultParameterSetName = ObjectSet)]
[OutputType("TrainableTokens.Core.Configuration.RunConfig", ParameterSetName = new[] { ObjectSet })]
[OutputType(typeof(FileInfo), ParameterSetName = new[] { FileSet })]
public sealed class NewTrainableTokensConfig : PSCmdlet
{
    private const string ObjectSet = "Object";
    private const string FileSet = "File";

    /// <summary>The method the run trains: token rows (trainable_tokens, the default) or a LoRA adapter (lora).</summary>
    [Parameter]
    [ValidateSet("TrainableTokens", "Lora")]
    public string Method { get; set; } = "TrainableTokens";

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

    // The lora section (-Method Lora), PEFT's LoraConfig fields.
    [Parameter, Alias("R")] public int Rank { get; set; }
    [Parameter, Alias("LoraAlpha")] public double Alpha { get; set; }
    [Parameter, Alias("LoraDropout")] public double Dropout { get; set; }
    [Parameter, ValidateNotNullOrEmpty] public string[] ExcludeModule { get; set; } = Array.Empty<string>();
    [Parameter] public SwitchParameter UseRslora { get; set; }
    [Parameter, ArgumentCompleter(typeof(SchemaValueCompleter))] public string Bias { get; set; } = "";
    [Parameter, ValidateSet("true", "false", "gaussian")] public string InitLoraWeights { get; set; } = "";
    [Parameter, ValidateNotNullOrEmpty] public int[] LayersToTransform { get; set; } = Array.Empty<int>();
    [Parameter, ValidateNotNullOrEmpty] public string[] LayersPattern { get; set; } = Array.Empty<string>();
    [Parameter, ValidateNotNull] public System.Collections.Hashtable RankPattern { get; set; } = new();
    [Parameter, ValidateNotNull] public System.Collections.Hashtable AlphaPattern { get; set; } = new();
    [Parameter, ValidateNotNullOrEmpty] public string[] ModulesToSave { get; set; } = Array.Empty<string>();
    /// <summary>trainable_token_indices as a map of module name to ids (the list form is -TokenIndex).</summary>
    [Parameter, ValidateNotNull] public System.Collections.Hashtable TokenIndexByModule { get; set; } = new();
    [Parameter] public SwitchParameter EnsureWeightTying { get; set; }

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
        bool byText = settings.ContainsKey(nameof(Token)), head = IncludeOutputHead.IsPresent, lora = IsLora;
        if (!lora && LoraParameters.FirstOrDefault(settings.ContainsKey) is { } loraOnly)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                $"-{loraOnly} is a LoRA setting; add -Method Lora to make a LoRA run config, or leave -{loraOnly} out."),
                "LoraParameterWithoutLora", ErrorCategory.InvalidArgument, null));
        if (lora && head && settings.ContainsKey(nameof(TokenIndexByModule)))
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                "-IncludeOutputHead and -TokenIndexByModule both say which modules' rows are trained; give one of them."),
                "OutputHeadWithModuleMap", ErrorCategory.InvalidArgument, null));
        if (!lora && !settings.ContainsKey(nameof(TokenIndex)) && !byText)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                "Give the tokens to train: -TokenIndex with their ids, or -Token with their text and -Model with the model folder."),
                "NoTokens", ErrorCategory.InvalidArgument, null));
        var model = settings.ContainsKey(nameof(BaseModel)) ? GetUnresolvedProviderPathFromPSPath(BaseModel) : null;
        if (model is null && (byText || (head && (lora || TargetModule.Length == 0))))
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
            if (head && lora)
            {
                // LoRA's trainable_token_indices names the modules in a map: the same ids for the embedding and the head.
                var modules = WithOutputHead(Array.Empty<string>(), model);
                TokenIndexByModule = new System.Collections.Hashtable();
                foreach (var module in modules) TokenIndexByModule[module] = TokenIndex;
                settings[nameof(TokenIndexByModule)] = TokenIndexByModule;
            }
            else if (head)
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

    private bool IsLora => string.Equals(Method, "Lora", StringComparison.OrdinalIgnoreCase);

    /// <summary>The parameters that set the lora section; given without -Method Lora they are an error.</summary>
    private static readonly string[] LoraParameters =
    {
        nameof(Rank), nameof(Alpha), nameof(Dropout), nameof(ExcludeModule), nameof(UseRslora), nameof(Bias), nameof(InitLoraWeights),
        nameof(LayersToTransform), nameof(LayersPattern), nameof(RankPattern), nameof(AlphaPattern), nameof(ModulesToSave),
        nameof(TokenIndexByModule), nameof(EnsureWeightTying),
    };

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
        var config = p.IsLora
            ? new RunConfig { Lora = LoraSection(p, bound), Training = training }
            : new RunConfig { TrainableTokens = tokens, Training = training };
        var findings = config.Validate().Select(f => (f.Severity == ConfigSeverity.Error, f.Field, f.Message)).ToList();
        return (config, findings);
    }

    /// <summary>The lora section from -Rank, -Alpha, ... (PEFT's defaults for what is left out).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrainableTokens.Core.Configuration.LoraConfig LoraSection(NewTrainableTokensConfig p, IDictionary<string, object> bound)
    {
        var d = new TrainableTokens.Core.Configuration.LoraConfig();
        bool Has(string name) => bound.ContainsKey(name);
        System.Text.Json.JsonElement? TokenIds()
        {
            if (Has(nameof(TokenIndexByModule))) return Json(p.TokenIndexByModule);
            if (p.TokenIndex.Length > 0) return System.Text.Json.JsonSerializer.SerializeToElement(p.TokenIndex);
            return null;
        }
        return d with
        {
            R = Has(nameof(Rank)) ? p.Rank : d.R,
            LoraAlpha = Has(nameof(Alpha)) ? p.Alpha : d.LoraAlpha,
            LoraDropout = Has(nameof(Dropout)) ? p.Dropout : d.LoraDropout,
            TargetModules = Has(nameof(TargetModule)) ? TargetsOf(p.TargetModule) : d.TargetModules,
            ExcludeModules = Has(nameof(ExcludeModule)) ? TargetsOf(p.ExcludeModule) : d.ExcludeModules,
            UseRslora = Has(nameof(UseRslora)) ? p.UseRslora.IsPresent : d.UseRslora,
            Bias = Has(nameof(Bias)) ? p.Bias : d.Bias,
            InitLoraWeights = Has(nameof(InitLoraWeights))
                ? p.InitLoraWeights.ToLowerInvariant() switch
                {
                    "true" => System.Text.Json.JsonSerializer.SerializeToElement(true),
                    "false" => System.Text.Json.JsonSerializer.SerializeToElement(false),
                    var text => System.Text.Json.JsonSerializer.SerializeToElement(text),
                }
                : d.InitLoraWeights,
            LayersToTransform = Has(nameof(LayersToTransform)) ? p.LayersToTransform : d.LayersToTransform,
            LayersPattern = Has(nameof(LayersPattern)) ? StringOrList.FromList(p.LayersPattern) : d.LayersPattern,
            RankPattern = Has(nameof(RankPattern)) ? Json(p.RankPattern) : d.RankPattern,
            AlphaPattern = Has(nameof(AlphaPattern)) ? Json(p.AlphaPattern) : d.AlphaPattern,
            ModulesToSave = Has(nameof(ModulesToSave)) ? p.ModulesToSave : d.ModulesToSave,
            TrainableTokenIndices = TokenIds(),
            EnsureWeightTying = Has(nameof(EnsureWeightTying)) ? p.EnsureWeightTying.IsPresent : d.EnsureWeightTying,
        };
    }

    /// <summary>One value that is not a module name (a regular expression, or all-linear) is written as PEFT's string form.</summary>
    private static StringOrList TargetsOf(string[] names) =>
        names.Length == 1 && (names[0].Equals("all-linear", StringComparison.OrdinalIgnoreCase) || names[0].IndexOfAny(new[] { '*', '\\', '(', '[', '|', '^', '$', '+', '?' }) >= 0)
            ? StringOrList.FromString(names[0])
            : StringOrList.FromList(names);

    /// <summary>A hashtable of module name to value (a number, or a list of ids) as the free-form JSON the schema reads.</summary>
    private static System.Text.Json.JsonElement Json(System.Collections.Hashtable table)
    {
        static object? Plain(object? value) => value switch
        {
            PSObject ps => Plain(ps.BaseObject),
            System.Collections.IEnumerable list and not string => list.Cast<object?>().Select(Plain).ToList(),
            _ => value,
        };
        var map = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in table) map[entry.Key.ToString() ?? ""] = Plain(entry.Value);
        return System.Text.Json.JsonSerializer.SerializeToElement(map);
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
            "r" => "-Rank",
            "lora_alpha" => "-Alpha",
            "lora_dropout" => "-Dropout",
            "exclude_modules" => "-ExcludeModule",
            "trainable_token_indices" => "-TokenIndex",
            _ => "-" + string.Concat(key.Split('_').Select(w => w.Length == 0 ? "" : char.ToUpperInvariant(w[0]) + w.Substring(1))),
        };
    }
}
