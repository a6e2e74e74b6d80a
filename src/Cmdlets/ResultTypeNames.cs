using System;
using System.Collections.Generic;
using System.Reflection;
using System.Management.Automation;
using System.Runtime.CompilerServices;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Lets scripts name the engine's result types ([TrainableTokens.TrainingResult], $r -is [TrainableTokens.AdapterSummary]).
/// PowerShell resolves type names only in the default load context, and the engine lives in its own, so each type is
/// registered as a type accelerator under TrainableTokens.&lt;Name&gt; and under its full name.
/// </summary>
internal static class ResultTypeNames
{
    private static readonly List<string> Registered = new();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Type[] EngineTypes() => new[]
    {
        typeof(TrainableTokens.Core.Runtime.EnvironmentReport),
        typeof(TrainableTokens.Core.Runtime.CudaDevice),
        typeof(TrainableTokens.Core.Configuration.RunConfig),
        typeof(TrainableTokens.Core.Configuration.ConfigFinding),
        typeof(TrainableTokens.Core.Untrained.UntrainedToken),
        typeof(TrainableTokens.Core.Models.ForwardCaptureResult),
        typeof(TrainableTokens.Core.Tuners.TrainableTokens.AdapterSummary),
        typeof(TrainableTokens.Core.Tuners.TrainableTokens.AdapterTensor),
        typeof(TrainableTokens.Core.Tuners.TrainableTokens.AdapterHeadRows),
        typeof(TrainableTokens.Core.Tuners.Lora.LoraAdapterSummary),
        typeof(TrainableTokens.Core.Merging.AdapterMergeResult),
        typeof(TrainableTokens.Core.Merging.MergedRows),
        typeof(TrainableTokens.Core.Merging.MergedTensor),
        typeof(TrainableTokens.Core.Training.TrainingResult),
        typeof(TrainableTokens.Core.Training.TrainingLogEntry),
        typeof(TrainableTokens.Core.Jobs.JobExportResult),
        typeof(TrainableTokens.Core.Jobs.JobWarning),
        typeof(TrainableTokens.Core.Jobs.JobImportResult),
        typeof(TrainableTokens.Core.Jobs.ConfigDifference),
        typeof(TrainableTokens.Core.Jobs.TensorRepair),
        typeof(TrainableTokens.Core.Jobs.JobResultValues),
    };

    public static void Register()
    {
        var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
        var add = accelerators?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, new[] { typeof(string), typeof(Type) });
        if (add is null) return; // A PowerShell without accelerators: the objects still work, only their names do not resolve.
        Type[] types;
        try { types = EngineTypes(); }
        catch (Exception e) when (e is System.IO.FileNotFoundException or System.IO.FileLoadException or BadImageFormatException)
        {
            return; // A damaged module folder: the first command reports it, with the file to fix.
        }
        lock (Registered)
        {
            if (Registered.Count > 0) return;
            foreach (var type in types)
                foreach (var name in new[] { "TrainableTokens." + type.Name, type.FullName! })
                {
                    add.Invoke(null, new object[] { name, type });
                    Registered.Add(name);
                }
        }
    }

    public static void Unregister()
    {
        var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
        var remove = accelerators?.GetMethod("Remove", BindingFlags.Public | BindingFlags.Static, new[] { typeof(string) });
        if (remove is null) return;
        lock (Registered)
        {
            foreach (var name in Registered) remove.Invoke(null, new object[] { name });
            Registered.Clear();
        }
    }
}
