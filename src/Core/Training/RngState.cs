using System.Collections.Generic;
using System.IO;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;

namespace TrainableTokens.Core.Training;

/// <summary>
/// torch's default CPU generator at a checkpoint (<c>rng_state.safetensors</c>, Hugging Face keeps it in
/// rng_state.pth): training draws nothing from it today (the data order comes from seed + epoch), but anything random
/// added later (dropout) then resumes exactly too.
/// </summary>
internal static class RngState
{
    public const string FileName = "rng_state.safetensors";
    private const string CpuKey = "cpu";

    public static void Save(string folder)
    {
        using var state = random.get_rng_state();
        SafetensorsWriter.Write(Path.Combine(folder, FileName), [new KeyValuePair<string, Tensor>(CpuKey, state)], new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Restores the generator; a checkpoint from before this file existed has none, and nothing needs restoring.</summary>
    public static void Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return;
        using var file = SafetensorsFile.Open(path);
        if (!file.Contains(CpuKey) || file.Info(CpuKey).DType != SafetensorsDType.U8)
            throw new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
                $"'{path}' has no uint8 tensor '{CpuKey}' (the random generator's state). The checkpoint is damaged: resume from another checkpoint.", path);
        using var state = file.Load(CpuKey);
        using var current = random.get_rng_state();
        if (state.numel() != current.numel())
            throw new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
                $"'{path}' holds a generator state of {state.numel()} bytes, not {current.numel()}. The checkpoint is damaged or from another libtorch: resume from another checkpoint.", path);
        random.set_rng_state(state);
    }
}
