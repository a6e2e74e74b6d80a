using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace TrainableTokens.Core.Runtime;

/// <summary>
/// Lists GPUs through the NVIDIA Management Library, which ships with the driver. TorchSharp exposes only a
/// device count, and a runbook author wants names and memory; NVML answers even where CUDA libtorch is absent.
/// </summary>
internal static unsafe class Nvml
{
    public static IReadOnlyList<CudaDevice> ListDevices()
    {
        var devices = new List<CudaDevice>();
        string name = OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
        if (!NativeLibrary.TryLoad(name, out var lib)) return devices;
        try
        {
            var init = (delegate* unmanaged<int>)Export(lib, "nvmlInit_v2");
            var shutdown = (delegate* unmanaged<int>)Export(lib, "nvmlShutdown");
            var count = (delegate* unmanaged<uint*, int>)Export(lib, "nvmlDeviceGetCount_v2");
            var handle = (delegate* unmanaged<uint, IntPtr*, int>)Export(lib, "nvmlDeviceGetHandleByIndex_v2");
            var getName = (delegate* unmanaged<IntPtr, byte*, uint, int>)Export(lib, "nvmlDeviceGetName");
            var memory = (delegate* unmanaged<IntPtr, MemoryInfo*, int>)Export(lib, "nvmlDeviceGetMemoryInfo");
            if (init == null || count == null || handle == null || getName == null || memory == null || init() != 0)
                return devices;
            try
            {
                uint n;
                if (count(&n) != 0) return devices;
                var buffer = stackalloc byte[96];
                for (uint i = 0; i < n; i++)
                {
                    IntPtr h;
                    if (handle(i, &h) != 0) continue;
                    string deviceName = getName(h, buffer, 96) == 0 ? Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "" : "";
                    MemoryInfo info;
                    bool hasMemory = memory(h, &info) == 0;
                    devices.Add(new CudaDevice((int)i, deviceName, hasMemory ? (long)info.Total : -1, hasMemory ? (long)info.Free : -1));
                }
            }
            finally
            {
                if (shutdown != null) shutdown();
            }
        }
        finally
        {
            NativeLibrary.Free(lib);
        }
        return devices;
    }

    private static void* Export(IntPtr lib, string symbol) =>
        NativeLibrary.TryGetExport(lib, symbol, out var address) ? (void*)address : null;

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }
}
