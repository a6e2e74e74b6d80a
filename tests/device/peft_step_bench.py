"""One Trainable Tokens training step with Python PEFT, the peer of DeviceHarness's `bench` command.

Same model shape (a config.json from tests/fixtures/configs, random weights made on the device), batch, sequence and
k trained tokens; the same step: ids with half the positions trained tokens, next-token cross-entropy over float32
logits, AdamW on PEFT's trainable parameters. Median step time over --steps after one warm-up; peak memory as
NVML's device-used (sampled, as the harness measures it) and torch.cuda.max_memory_reserved/allocated on a GPU, VmHWM
on the CPU. Prints one JSON line; running out of memory is a result (oom: true), not a failure.

usage: python3 peft_step_bench.py --config FILE [--device cuda] [--dtype bfloat16] [--batch 1] [--seq 512]
       [--steps 3] [--k 2] [--threads N] [--layers N] [--label NAME]
"""
import argparse
import json
import os
import random
import statistics
import threading
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--k", type=int, default=2)
    p.add_argument("--threads", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--label")
    return p.parse_args()


class NvmlPeak:
    """Device memory in use, sampled every millisecond on a thread (what the harness's GpuMemorySampler does)."""

    def __init__(self, index):
        import pynvml  # nvidia-ml-py
        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        self.peak = self.used()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def used(self):
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)

    def reset(self):
        self.peak = self.used()

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self.used())
            time.sleep(0.001)

    def close(self):
        self._stop = True
        self._thread.join()
        self._nvml.nvmlShutdown()


def vm_hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return -1


def main():
    a = parse()
    import torch
    import peft
    import transformers
    from peft import TrainableTokensConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    if a.threads:
        torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    device = torch.device(a.device)
    cfg = AutoConfig.from_pretrained(os.path.dirname(os.path.abspath(a.config)))
    if a.layers:
        cfg.num_hidden_layers = a.layers
        if getattr(cfg, "layer_types", None):
            cfg.layer_types = cfg.layer_types[: a.layers]
    cfg.use_cache = False
    result = {"impl": "trainable-tokens-peft", "label": a.label or os.path.basename(os.path.dirname(os.path.abspath(a.config))),
              "device": a.device, "dtype": a.dtype, "batch": a.batch, "seq": a.seq, "k": a.k,
              "layers": cfg.num_hidden_layers, "vocab": cfg.vocab_size, "hidden": cfg.hidden_size,
              "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__,
              "peft": peft.__version__}
    sampler = NvmlPeak(device.index or 0) if device.type == "cuda" else None
    try:
        start = time.perf_counter()
        with torch.device(device):
            try:
                model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
            except TypeError:  # transformers before 4.56 calls it torch_dtype
                model = AutoModelForCausalLM.from_config(cfg, torch_dtype=dtype)
        result["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
        tokens = [cfg.vocab_size - 1 - i * 7 for i in range(a.k)]
        model = get_peft_model(model, TrainableTokensConfig(token_indices=tokens))
        model.train()
        if device.type == "cuda":
            torch.cuda.synchronize()
        result["build_s"] = time.perf_counter() - start
        if sampler:
            result["memory_after_build_bytes"] = sampler.peak
        params = [p for p in model.parameters() if p.requires_grad]
        result["trainable_parameters"] = sum(p.numel() for p in params)
        optimizer = torch.optim.AdamW(params, lr=1e-3)
        rng = random.Random(5)
        ids = [tokens[rng.randrange(a.k)] if i % 2 == 0 else rng.randrange(cfg.vocab_size - 8 * a.k) for i in range(a.batch * a.seq)]
        ids = torch.tensor(ids, dtype=torch.long, device=device).view(a.batch, a.seq)

        def step():
            optimizer.zero_grad(set_to_none=True)
            logits = model(input_ids=ids).logits
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, cfg.vocab_size), ids[:, 1:].reshape(-1))
            loss.backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()

        step()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            sampler.reset()
        else:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        times = []
        for _ in range(a.steps):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        result["median_step_s"] = statistics.median(times)
        result["min_step_s"] = min(times)
        if device.type == "cuda":
            result["peak_memory_bytes"] = sampler.peak
            result["max_memory_reserved_bytes"] = torch.cuda.max_memory_reserved()
            result["max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated()
            result["memory_method"] = "nvml device used (sampled)"
        else:
            result["peak_memory_bytes"] = vm_hwm()
            result["memory_method"] = "process VmHWM"
        result["ok"] = True
    except torch.cuda.OutOfMemoryError as e:
        result.update(ok=False, oom=True, error=str(e).split("\n")[0][:300])
        if sampler:
            result["peak_memory_bytes"] = sampler.peak
    finally:
        if sampler:
            sampler.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
