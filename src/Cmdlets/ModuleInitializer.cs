using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace TrainableTokens.Cmdlets;

/// <summary>
/// Hooks the default load context so that, when a cmdlet first touches an engine type, the engine assembly comes
/// from <see cref="EngineLoadContext"/>. The handler answers for the engine's name only; every other request is
/// left to PowerShell.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly object Gate = new();
    private static EngineLoadContext? _context;
    private static bool _registered;

    internal static string DependencyFolder =>
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies");

    public void OnImport()
    {
        lock (Gate)
        {
            // One context for the life of the process: libtorch cannot be unloaded, so re-imports reuse it.
            _context ??= new EngineLoadContext(DependencyFolder);
            if (!_registered)
            {
                AssemblyLoadContext.Default.Resolving += ResolveEngine;
                _registered = true;
            }
        }
        ResultTypeNames.Register();
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        ResultTypeNames.Unregister();
        lock (Gate)
        {
            if (_registered)
            {
                AssemblyLoadContext.Default.Resolving -= ResolveEngine;
                _registered = false;
            }
        }
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name)
    {
        if (!string.Equals(name.Name, EngineLoadContext.EngineAssemblyName, StringComparison.Ordinal)) return null;
        var engine = _context ?? throw new InvalidOperationException("The TrainableTokens module is not initialised.");
        return engine.LoadFromAssemblyName(name);
    }
}
