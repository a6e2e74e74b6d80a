using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Runtime;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Models;

/// <summary>
/// Opens a Hugging Face model folder: config.json, then each weight read lazily by name from the (possibly
/// sharded) safetensors checkpoint straight into native memory. Before the first byte is allocated every weight is
/// checked (present, the shape the architecture expects, a floating-point dtype) and the memory they need in the
/// requested dtype is compared with what the machine has free.
/// </summary>
public static class ModelLoader
{
    /// <summary>Loads the model in <paramref name="dtype"/> (float32 when null, as Hugging Face does by default) on <paramref name="device"/> (CPU when null).</summary>
    public static CausalLanguageModel Load(string folder, ScalarType? dtype = null, Device? device = null) => Load(folder, dtype, device, availableBytes: null);

    /// <summary>As <see cref="Load(string, ScalarType?, Device?)"/>; <paramref name="availableBytes"/> stands in for what the machine has free (tests).</summary>
    internal static CausalLanguageModel Load(string folder, ScalarType? dtype, Device? device, long? availableBytes)
    {
        TorchRuntime.EnsureLoaded();
        var config = ModelConfigReader.ReadFolder(folder);
        var target = dtype ?? ScalarType.Float32;
        var dev = device ?? CPU;
        using var checkpoint = Checkpoint.OpenFolder(folder);
        var plan = Plan(folder, config, checkpoint);
        var memory = MemoryCheck.For(folder, plan, target, dev, availableBytes);
        memory.ThrowIfTooLittle();
        var weights = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (expected, info) in plan)
                weights[expected.Name] = memory.WhileAllocating(() => LoadOne(checkpoint, info, target, dev));
        }
        catch
        {
            foreach (var w in weights.Values) w.Dispose();
            throw;
        }
        return Create(config, weights);
    }

    /// <summary>
    /// Why <see cref="Load(string, ScalarType?, Device?)"/> would refuse this folder in <paramref name="dtype"/> on
    /// <paramref name="deviceType"/>:<paramref name="deviceIndex"/> (a weight missing or misshapen, too little memory), or
    /// null when it would load. Reads headers only and does not start libtorch, so a check before training can ask it.
    /// </summary>
    public static TrainableTokensException? WhyNotLoadable(string folder, ScalarType dtype, string deviceType, int deviceIndex) =>
        WhyNotLoadable(folder, dtype, deviceType, deviceIndex, availableBytes: null);

    /// <summary>As the public overload; <paramref name="availableBytes"/> stands in for what the device has free (tests).</summary>
    internal static TrainableTokensException? WhyNotLoadable(string folder, ScalarType dtype, string deviceType, int deviceIndex, long? availableBytes)
    {
        try
        {
            var config = ModelConfigReader.ReadFolder(folder);
            using var checkpoint = Checkpoint.OpenFolder(folder);
            var plan = Plan(folder, config, checkpoint);
            var memory = MemoryCheck.For(folder, plan, dtype, deviceType, deviceIndex, availableBytes);
            return memory.Available() is { } available && memory.NeededBytes > available ? memory.TooLittle(available, null) : null;
        }
        catch (TrainableTokensException e)
        {
            return e;
        }
    }

    private static Tensor LoadOne(Checkpoint checkpoint, SafetensorsTensorInfo info, ScalarType target, Device device)
    {
        var loaded = checkpoint.Load(info.Name);
        try
        {
            var converted = loaded.to(target, device);
            if (ReferenceEquals(converted, loaded)) loaded = null;
            return converted;
        }
        finally
        {
            loaded?.Dispose();
        }
    }

    /// <summary>Every expected weight with where it is stored, each checked; nothing is allocated.</summary>
    private static List<(WeightShape Expected, SafetensorsTensorInfo Stored)> Plan(string folder, ModelConfig config, Checkpoint checkpoint)
    {
        var plan = new List<(WeightShape, SafetensorsTensorInfo)>();
        foreach (var expected in ExpectedWeights(config))
        {
            var stored = StoredName(checkpoint, expected.Name, config.ModelType)
                ?? throw new InvalidModelFolderException(
                    $"'{folder}': the checkpoint has no tensor '{expected.Name}', which a {config.ModelType} model with this config.json needs. " +
                    "Check that config.json belongs to these weights.", folder);
            var info = checkpoint.Info(stored);
            if (!info.Shape.SequenceEqual(expected.Shape))
                throw new InvalidModelFolderException(
                    $"'{info.File}': tensor '{stored}' has shape [{string.Join(", ", info.Shape)}], but config.json implies [{string.Join(", ", expected.Shape)}].", info.File);
            if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16 or SafetensorsDType.F64))
                throw new InvalidModelFolderException(
                    $"'{info.File}': tensor '{stored}' is stored as {info.DType.HeaderName()}, but it is a floating-point weight of the model, and casting " +
                    "integer or boolean values to floats would silently give a different model (a quantized checkpoint, say). " +
                    "Use a checkpoint whose weights are F32, BF16 or F16.", info.File);
            plan.Add((expected, info));
        }
        return plan;
    }

    /// <summary>Builds the architecture for <paramref name="config"/> around weights the caller already holds.</summary>
    public static CausalLanguageModel Create(ModelConfig config, Dictionary<string, Tensor> weights)
    {
        // The model owns its weights for its whole life, whatever dispose scope was active when they were made.
        foreach (var w in weights.Values) w.DetachFromDisposeScope();
        return new CausalLanguageModel(config, weights);
    }

    /// <summary>Every weight the architecture needs, in Hugging Face naming and order.</summary>
    public static IEnumerable<WeightShape> ExpectedWeights(ModelConfig config) =>
        ModelArchitectures.Spec(config.ModelType).WeightShapes(config);

    /// <summary>The name a weight has in this checkpoint: with the base-model prefix as a *ForCausalLM saves it, or
    /// without it as a bare base model saves it; null when neither is there.</summary>
    public static string? StoredName(Checkpoint checkpoint, string name) => StoredName(checkpoint, name, null);

    /// <summary>As <see cref="StoredName(Checkpoint, string)"/>, also trying the older prefixes the architecture's
    /// checkpoints may use (a Gemma 3 hub checkpoint's <c>language_model.model.</c>).</summary>
    public static string? StoredName(Checkpoint checkpoint, string name, string? modelType)
    {
        if (checkpoint.Contains(name)) return name;
        if (modelType is not null && ModelArchitectures.IsSupported(modelType))
            foreach (var (module, stored) in ModelArchitectures.Spec(modelType).StoredPrefixes)
                if (name.StartsWith(module, System.StringComparison.Ordinal) && checkpoint.Contains(stored + name[module.Length..]))
                    return stored + name[module.Length..];
        foreach (var prefix in new[] { "model.", "transformer." })
            if (name.StartsWith(prefix, StringComparison.Ordinal) && checkpoint.Contains(name[prefix.Length..]))
                return name[prefix.Length..];
        return null;
    }

    /// <summary>
    /// What loading needs against what the device has free, and the same clear error when libtorch itself cannot
    /// allocate (its own message is "DefaultCPUAllocator: can't allocate memory", naming nothing of ours).
    /// </summary>
    internal sealed class MemoryCheck
    {
        private readonly string _folder;
        private readonly ScalarType _target;
        private readonly string _where;
        private readonly string _deviceType;
        private readonly int _deviceIndex;
        private readonly long? _override;

        private MemoryCheck(string folder, ScalarType target, string deviceType, int deviceIndex, long neededBytes, long? availableBytes)
        {
            _folder = folder;
            _target = target;
            _deviceType = deviceType;
            _deviceIndex = deviceIndex;
            _where = _deviceType == "cpu" ? "this machine" : deviceIndex < 0 ? $"device {deviceType}" : $"device {deviceType}:{deviceIndex}";
            _override = availableBytes;
            NeededBytes = neededBytes;
        }

        /// <summary>About what the weights take on the device, plus, on the host, the largest one in its stored dtype while it is converted.</summary>
        public long NeededBytes { get; }

        public static MemoryCheck For(string folder, IReadOnlyList<(WeightShape Expected, SafetensorsTensorInfo Stored)> plan, ScalarType target, Device device, long? availableBytes) =>
            For(folder, plan, target, device.type == DeviceType.CUDA ? "cuda" : device.type == DeviceType.CPU ? "cpu" : device.type.ToString().ToLowerInvariant(),
                device.index, availableBytes);

        public static MemoryCheck For(string folder, IReadOnlyList<(WeightShape Expected, SafetensorsTensorInfo Stored)> plan, ScalarType target,
            string deviceType, int deviceIndex, long? availableBytes)
        {
            var size = ElementSize(target);
            long total = 0, largestStored = 0;
            foreach (var (_, stored) in plan)
            {
                total = Saturating(total, Saturating(stored.ElementCount, size));
                if (stored.DType.ToScalarType() != target) largestStored = Math.Max(largestStored, stored.ByteLength);
            }
            var needed = deviceType == "cpu" ? Saturating(total, largestStored) : total;
            return new MemoryCheck(folder, target, deviceType, deviceIndex, needed, availableBytes);
        }

        /// <summary>Free bytes on the device now, or null when the machine does not say (then nothing is refused in advance).</summary>
        public long? Available() => _override ?? MachineMemory.Available(_deviceType, _deviceIndex);

        public void ThrowIfTooLittle()
        {
            if (Available() is { } available && NeededBytes > available) throw TooLittle(available, null);
        }

        public T WhileAllocating<T>(Func<T> allocate)
        {
            try
            {
                return allocate();
            }
            catch (Exception e) when (IsAllocationFailure(e))
            {
                throw TooLittle(Available(), e);
            }
        }

        private static bool IsAllocationFailure(Exception e) =>
            e is OutOfMemoryException
            || (e is ExternalException && (e.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)));

        public NotEnoughMemoryException TooLittle(long? available, Exception? inner)
        {
            var dtype = ModelDtype.Name(_target);
            var free = available is { } a ? $"{_where} has only {UserFile.FormatBytes(a)} free" : $"{_where} could not allocate it";
            var smaller = _target is ScalarType.Float32 or ScalarType.Float64
                ? $"load it in bfloat16 (about {UserFile.FormatBytes(NeededBytes / (ElementSize(_target) / 2))}, -Dtype bfloat16 or dtype: bfloat16 in the run file), "
                : "";
            return new NotEnoughMemoryException(
                $"Loading the model in '{_folder}' as {dtype} needs about {UserFile.FormatBytes(NeededBytes)}, but {free}. " +
                $"To fix it, {smaller}free memory by closing other programs, or use a machine with more memory.",
                _folder, NeededBytes, available, inner);
        }

        private static int ElementSize(ScalarType type) => type switch
        {
            ScalarType.Float64 or ScalarType.Int64 => 8,
            ScalarType.Float32 or ScalarType.Int32 => 4,
            ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Int16 => 2,
            _ => 1,
        };

        private static long Saturating(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

        private static long Saturating(long count, int size) => count > long.MaxValue / size ? long.MaxValue : count * size;
    }
}
