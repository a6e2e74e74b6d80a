using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace TrainableTokens.DeviceHarness;

/// <summary>
/// Peak device memory in use while a piece of work runs, read from NVML every millisecond or so. TorchSharp exposes no
/// CUDA allocator statistics, so both sides of the PEFT comparison are measured this way (the Python side also reports
/// torch.cuda.max_memory_reserved, which this approximates plus the CUDA context).
/// </summary>
internal sealed unsafe class GpuMemorySampler : IDisposable
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo { public ulong Total, Free, Used; }

    private readonly IntPtr _lib;
    private readonly IntPtr _device;
    private readonly delegate* unmanaged<IntPtr, MemoryInfo*, int> _getMemory;
    private readonly Thread? _thread;
    private volatile bool _stop;
    private long _peak;

    private GpuMemorySampler(IntPtr lib, IntPtr device, delegate* unmanaged<IntPtr, MemoryInfo*, int> getMemory)
    {
        _lib = lib; _device = device; _getMemory = getMemory;
        _peak = UsedBytes();
        _thread = new Thread(Run) { IsBackground = true, Name = "nvml-sampler" };
        _thread.Start();
    }

    /// <summary>A sampler on device <paramref name="index"/>, or null where NVML is not there (a CPU machine).</summary>
    public static GpuMemorySampler? TryStart(int index)
    {
        if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out var lib)) return null;
        var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "nvmlInit_v2");
        var byIndex = (delegate* unmanaged<uint, IntPtr*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetHandleByIndex_v2");
        var memory = (delegate* unmanaged<IntPtr, MemoryInfo*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetMemoryInfo");
        if (init() != 0) return null;
        IntPtr device;
        if (byIndex((uint)index, &device) != 0) return null;
        return new GpuMemorySampler(lib, device, memory);
    }

    public long UsedBytes()
    {
        MemoryInfo info;
        return _getMemory(_device, &info) == 0 ? (long)info.Used : -1;
    }

    /// <summary>Starts a new peak from what is in use now.</summary>
    public void Reset() => Interlocked.Exchange(ref _peak, UsedBytes());

    public long PeakBytes => Interlocked.Read(ref _peak);

    private void Run()
    {
        while (!_stop)
        {
            long used = UsedBytes();
            long seen;
            while (used > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, used, seen) != seen) { }
            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread?.Join();
        var shutdown = (delegate* unmanaged<int>)NativeLibrary.GetExport(_lib, "nvmlShutdown");
        shutdown();
    }
}
