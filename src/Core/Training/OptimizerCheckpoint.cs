using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using TrainableTokens.Core.IO;
using static TorchSharp.torch;
using AdamWState = TorchSharp.Modules.AdamW.State;

namespace TrainableTokens.Core.Training;

/// <summary>
/// AdamW's moments and step counts at a checkpoint, as <c>optimizer.safetensors</c> (k x d float32 per moment, so a few
/// KB to MB): without them a resumed run would restart its moments from zero and train differently.
/// </summary>
internal static class OptimizerCheckpoint
{
    public const string FileName = "optimizer.safetensors";

    public static void Save(TorchSharp.Modules.AdamW optimizer, string folder)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["optimizer"] = "AdamW" };
        var states = optimizer.state_dict().State;
        for (var i = 0; i < states.Count; i++)
        {
            var s = (AdamWState)states[i];
            tensors.Add(new($"state.{i}.exp_avg", s.exp_avg.detach().to(ScalarType.Float32).cpu().contiguous()));
            tensors.Add(new($"state.{i}.exp_avg_sq", s.exp_avg_sq.detach().to(ScalarType.Float32).cpu().contiguous()));
            metadata[$"state.{i}.step"] = s.step.ToString(CultureInfo.InvariantCulture);
        }
        SafetensorsWriter.Write(Path.Combine(folder, FileName), tensors, metadata);
    }

    public static void Load(TorchSharp.Modules.AdamW optimizer, string folder)
    {
        var path = Path.Combine(folder, FileName);
        Exception Invalid(string why) => new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData,
            $"'{path}' {why}. Resume from another checkpoint, or start afresh without resume_from_checkpoint.", path);
        using var file = Open(path, Invalid);
        var dict = optimizer.state_dict();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < dict.State.Count; i++)
        {
            var s = (AdamWState)dict.State[i];
            foreach (var (name, target) in new[] { ($"state.{i}.exp_avg", s.exp_avg), ($"state.{i}.exp_avg_sq", s.exp_avg_sq) })
            {
                if (!file.Contains(name)) throw Invalid($"has no tensor '{name}'");
                var stored = file.Load(name);
                if (!stored.isfinite().all().item<bool>()) throw Invalid($"holds non-finite values in '{name}'");
                if (!stored.shape.AsSpan().SequenceEqual(target.shape)) throw Invalid($"holds '{name}' of shape [{string.Join(", ", stored.shape)}], not [{string.Join(", ", target.shape)}]");
                target.copy_(stored.to(target.dtype));
            }
            if (!file.Metadata.TryGetValue($"state.{i}.step", out var step) || !long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw Invalid($"has no valid 'state.{i}.step' in its metadata");
            s.step = n;
        }
        optimizer.load_state_dict(dict);
    }

    /// <summary>Checks the file before a run starts: readable, complete, moments finite with their step counts.</summary>
    public static void Validate(string folder)
    {
        var path = Path.Combine(folder, FileName);
        Exception Invalid(string why) => new TrainingFailedException("InvalidCheckpoint", ErrorKind.InvalidData, $"'{path}' {why}. The checkpoint is damaged: resume from another checkpoint.", path);
        using var file = Open(path, Invalid);
        using var scope = NewDisposeScope();
        foreach (var tensor in file.Tensors)
        {
            if (tensor.DType != SafetensorsDType.F32) throw Invalid($"holds '{tensor.Name}' as {tensor.DType}, not F32");
            if (!file.Load(tensor.Name).isfinite().all().item<bool>()) throw Invalid($"holds non-finite values in '{tensor.Name}'");
            var state = tensor.Name[..tensor.Name.LastIndexOf('.')];
            if (!file.Metadata.TryGetValue(state + ".step", out var step) || !long.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw Invalid($"has no valid '{state}.step' in its metadata");
        }
    }

    private static SafetensorsFile Open(string path, Func<string, Exception> invalid)
    {
        if (!File.Exists(path)) throw invalid("does not exist (the checkpoint has no optimizer state)");
        try
        {
            return SafetensorsFile.Open(path);
        }
        catch (InvalidSafetensorsException e)
        {
            throw invalid($"cannot be read ({e.Message})");
        }
    }
}
