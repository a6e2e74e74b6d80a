"""One line per benchmark shape from bench.jsonl: ours against PEFT, step time and peak memory, and whether each ran.

usage: python3 summarise_bench.py BENCH_JSONL
"""
import json
import sys


def describe(r):
    if r is None:
        return "not run"
    if not r.get("ok"):
        return "out of memory" if r.get("oom") else f"failed ({r.get('error', 'no result')})"
    return f"{r['median_step_s']:.3f} s/step, peak {r['peak_memory_bytes'] / 2**30:.2f} GiB"


def main(path):
    runs = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            runs.setdefault((r["device"], r["label"], r["batch"], r["seq"]), {})[r["impl"]] = r
    for (device, label, batch, seq), pair in runs.items():
        ours, theirs = pair.get("trainable-tokens-ours"), pair.get("trainable-tokens-peft")
        line = f"bench {label} {device} {batch}x{seq}: ours {describe(ours)}; peft {describe(theirs)}"
        if ours and theirs and ours.get("ok") and theirs.get("ok"):
            line += (f"; ours {theirs['median_step_s'] / ours['median_step_s']:.2f}x PEFT's speed, "
                     f"PEFT's peak {(theirs['peak_memory_bytes'] - ours['peak_memory_bytes']) / 2**30:+.2f} GiB against ours")
        print(line)


if __name__ == "__main__":
    main(sys.argv[1])
