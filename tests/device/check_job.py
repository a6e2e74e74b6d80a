"""Runs an exported training job (Export-TokenTrainingJob) on the device machine and records what PEFT makes of its adapter.

usage: python3 check_job.py JOB_FOLDER MODEL_FOLDER OUT_FOLDER

1. Trains the job as its README says: `accelerate launch --num_processes 1 --config_file <the job's config> train.py` on
   one GPU when accelerate and CUDA are there, else `python train.py` on the CPU (and says which). The job's adapter goes
   to OUT_FOLDER/output, so the carried job folder stays as exported.
2. Loads that adapter with PEFT's PeftModel.from_pretrained on the base model (float32, CPU) and saves the logits of a
   fixed token sequence to OUT_FOLDER/peft-logits.safetensors, for the harness's job-check to compare with ours.
Prints one "ok"/"FAIL" line per part and the versions; exits non-zero on a failure.
"""
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# The same ids as the harness's job-check: ordinary tokens and the quickstart's trained rows (10002, 10003).
INPUT_IDS = [1, 3, 5, 6, 100, 4, 2, 7, 10002, 10003, 5, 9]


def versions():
    found = {}
    for name in ("torch", "transformers", "peft", "accelerate", "safetensors", "deepspeed"):
        try:
            found[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - absent or broken: recorded as such
            found[name] = None
    return found


def train(job: Path, model: Path, out: Path) -> tuple[bool, str]:
    spec = json.loads((job / "job.json").read_text())
    config = "accelerate/fsdp.yaml" if spec.get("engine") == "fsdp" else "accelerate/deepspeed.yaml"
    import torch

    gpu = torch.cuda.is_available()
    have_accelerate = importlib.util.find_spec("accelerate") is not None
    args = ["train.py", "--model", str(model), "--output-dir", str(out / "output")]
    env = dict(os.environ)
    if gpu and have_accelerate:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
                   "--config_file", config] + args
        how = f"accelerate launch --num_processes 1 --config_file {config} (GPU)"
    else:
        command = [sys.executable] + args
        env["CUDA_VISIBLE_DEVICES"] = "" if not gpu else env.get("CUDA_VISIBLE_DEVICES", "")
        how = "python train.py (" + ("GPU, no accelerate" if gpu else "CPU") + ")"
    start = time.time()
    done = subprocess.run(command, cwd=job, env=env, capture_output=True, text=True)
    (out / "train.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
    seconds = time.time() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return False, f"{how}: exit {done.returncode} after {seconds:.0f}s: {' | '.join(tail)}"
    result = out / "output" / "job-result.json"
    summary = ""
    if result.exists():
        r = json.loads(result.read_text())
        summary = f"; global_step {r.get('global_step')}, train_loss {r.get('train_loss')}, config differences {r.get('adapter_config_differences')}"
    return True, f"{how} in {seconds:.0f}s{summary}"


def peft_logits(model: Path, out: Path) -> tuple[bool, str]:
    import torch
    from peft import PeftModel
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, out / "output")
    peft.eval()
    with torch.no_grad():
        logits = peft(input_ids=torch.tensor([INPUT_IDS])).logits.float().contiguous()
    save_file({"logits": logits}, str(out / "peft-logits.safetensors"))
    return True, f"PeftModel.from_pretrained loaded the job's adapter; logits {tuple(logits.shape)} saved"


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    job, model, out = (Path(a).resolve() for a in argv[1:])
    out.mkdir(parents=True, exist_ok=True)
    (out / "versions.json").write_text(json.dumps(versions()))
    print("versions", json.dumps(versions()))
    failures = 0
    for name, part in (("job-run", lambda: train(job, model, out)), ("job-peft-load", lambda: peft_logits(model, out))):
        try:
            ok, text = part()
        except Exception as e:  # noqa: BLE001 - every failure is reported, the next part is skipped
            ok, text = False, f"{type(e).__name__}: {e}"
        print(f"{'ok  ' if ok else 'FAIL'} {name} {job.name}: {text}")
        if not ok:
            failures += 1
            break
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
