using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TrainableTokens.Core.Runtime;
using TrainableTokens.DeviceHarness;

// The device check harness: the engine called directly, one subcommand a step of tests/device/run-device-checks.sh.
//   DeviceHarness [--libtorch DIR] [--threads N] <command> [--option value ...]
//   env                                              libtorch in use, CUDA availability, versions
//   forward  --fixtures DIR --device D --out DIR [--expected DIR] [--record]
//   train    --examples DIR --device D --out DIR [--expected FILE] [--record]
//   bench    --config FILE --device D --dtype bfloat16 --batch B --seq S [--steps N] [--k K] [--label L]
//   lora-write --out DIR                             our LoRA (+ trainable tokens) adapters for PEFT to load
//   lora-check --cases DIR --models DIR --device D   PEFT's adapters loaded here
//   job-check --jobs DIR --runs DIR --model DIR --device D   exported jobs' adapters (Trainer + PEFT) imported and compared
// Every line of output is for the log; results that are compared later are files under --out. Exit 1 when a
// comparison fails, 2 on a usage error, 3 when the harness itself cannot run (libtorch, CUDA).
var options = Options.Parse(args);
try
{
    if (options.Get("libtorch") is { } libtorch) LibtorchLoader.Preload(libtorch);
    TorchRuntime.EnsureLoaded();
    if (options.Get("threads") is { } threads) torch.set_num_threads(int.Parse(threads));
    var device = options.Get("device") ?? "cpu";
    if (device.StartsWith("cuda", StringComparison.Ordinal)) CudaBackend.Initialise();
    return options.Command switch
    {
        "env" => EnvCommand.Run(options),
        "forward" => ForwardCheck.Run(options),
        "train" => TrainCheck.Run(options),
        "bench" => StepBench.Run(options),
        "lora-write" => LoraCases.Write(options),
        "lora-check" => LoraCases.Check(options),
        "job-check" => JobCheck.Run(options),
        _ => Usage($"unknown command '{options.Command}'"),
    };
}
catch (HarnessException e)
{
    Console.Error.WriteLine($"harness: {e.Message}");
    return 3;
}
catch (TrainableTokens.Core.TrainableTokensException e)
{
    Console.Error.WriteLine($"harness: {e.GetType().Name}: {e.Message}");
    return 3;
}

static int Usage(string why)
{
    Console.Error.WriteLine($"usage: DeviceHarness [--libtorch DIR] [--threads N] env|forward|train|bench|lora-write|lora-check [--option value ...] ({why})");
    return 2;
}

namespace TrainableTokens.DeviceHarness
{
    /// <summary>The command and its --name value pairs.</summary>
    internal sealed class Options
    {
        private readonly Dictionary<string, string> _values;
        private Options(string command, Dictionary<string, string> values) { Command = command; _values = values; }
        public string Command { get; }
        public string? Get(string name) => _values.GetValueOrDefault(name);
        public string Require(string name) => Get(name) ?? throw new HarnessException($"{Command} needs --{name}.");
        public int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v) : fallback;
        public bool Flag(string name) => _values.ContainsKey(name);

        public static Options Parse(string[] args)
        {
            var values = new Dictionary<string, string>();
            string? command = null;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    var name = args[i][2..];
                    bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                    values[name] = hasValue ? args[++i] : "";
                }
                else command ??= args[i];
            }
            return new Options(command ?? "env", values);
        }
    }

    /// <summary>TorchSharp's CUDA backend over whatever libtorch is loaded (torch_cuda by name: LD_LIBRARY_PATH or preloaded).</summary>
    internal static class CudaBackend
    {
        public static void Initialise()
        {
            try { torch.InitializeDeviceType(DeviceType.CUDA); }
            catch (Exception e) { throw new HarnessException($"CUDA backend did not initialise: {e.Message.Split('\n')[0]}"); }
            if (!torch.cuda.is_available()) throw new HarnessException("torch.cuda.is_available() is false with this libtorch.");
        }
    }

    internal static class EnvCommand
    {
        public static int Run(Options options)
        {
            Console.WriteLine($"libtorch folder: {LibtorchLoader.LoadedFrom ?? TorchRuntime.NativeDirectory + " (beside the harness)"}");
            Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, built for libtorch {torch.__version__}");
            Console.WriteLine($"threads {torch.get_num_threads()}");
            bool cuda;
            try { torch.InitializeDeviceType(DeviceType.CUDA); cuda = torch.cuda.is_available(); }
            catch (Exception) { cuda = false; }
            Console.WriteLine($"cuda available {cuda}" + (cuda ? $", devices {torch.cuda.device_count()}" : ""));
            return 0;
        }
    }
}
