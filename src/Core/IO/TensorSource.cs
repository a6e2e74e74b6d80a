using System;
using TorchSharp;

namespace TrainableTokens.Core.IO;

/// <summary>
/// A tensor to write that is produced only when its bytes are due (see <see cref="SafetensorsWriter.WriteStreamed"/>):
/// its name, declared dtype and shape, and a function that returns a new tensor the writer disposes.
/// </summary>
public sealed record TensorSource(string Name, SafetensorsDType DType, long[] Shape, Func<torch.Tensor> Load);
