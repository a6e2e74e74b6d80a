using System;
using System.IO;
using System.Security.Cryptography;
using TrainableTokens.Core.IO;
using TrainableTokens.Core.Models;

namespace TrainableTokens.Core.Training;

/// <summary>
/// A model folder's fingerprint for checkpoints: SHA-256 of its config.json and of each weights file's safetensors
/// header (tensor names, dtypes, shapes, offsets). Reading the headers is cheap at any model size; a changed model
/// almost always changes one of them.
/// </summary>
internal static class ModelFingerprint
{
    private const long MaxConfigBytes = 16 << 20;

    public static string Of(string modelFolder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var config = Path.Combine(modelFolder, "config.json");
        hash.AppendData(UserFile.ReadAllBytes(config, MaxConfigBytes, "model config", m => new InvalidModelFolderException(m, config)));
        using var checkpoint = Checkpoint.OpenFolder(modelFolder);
        foreach (var file in checkpoint.Files)
        {
            using var weights = SafetensorsFile.Open(file);
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
            var header = new byte[weights.DataStart];
            stream.ReadExactly(header);
            hash.AppendData(header);
        }
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }
}
