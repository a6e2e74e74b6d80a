using System;
using TrainableTokens.Core.Runtime;

// Prints what the engine's NVML reader sees, one device a line, for comparison with nvidia-smi.
var devices = Nvml.ListDevices();
Console.WriteLine($"devices: {devices.Count}");
foreach (var d in devices)
    Console.WriteLine($"{d.Index}: {d.Name}, total {d.TotalMemoryBytes} bytes, free {d.FreeMemoryBytes} bytes");
return devices.Count > 0 ? 0 : 1;
