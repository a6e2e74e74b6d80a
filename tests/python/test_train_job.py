"""Tests of the exported job's train.py (src/Core/Jobs/Python/train.py) and its accelerate templates.

Standard library (and PyYAML for the templates) only: torch, transformers and peft are not installed here. The pure
parts are tested directly; main() runs against the recording stand-ins in fake_modules/.

    python3 -m unittest discover -s tests/python -v
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = ROOT / "src" / "Core" / "Jobs" / "Python" / "train.py"
TEMPLATES = ROOT / "src" / "Core" / "Jobs" / "Templates"
FAKES = HERE / "fake_modules"


def load_train():
    spec = importlib.util.spec_from_file_location("train_job_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train = load_train()


def write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def expected_adapter_config(base_model: str) -> dict:
    return {"peft_type": "TRAINABLE_TOKENS", "task_type": "CAUSAL_LM", "token_indices": [5, 7],
            "target_modules": ["embed_tokens"], "init_weights": True, "inference_mode": True,
            "base_model_name_or_path": base_model, "revision": None, "auto_mapping": None, "peft_version": "0.x (engine)"}


def make_job(folder: Path, **overrides) -> Path:
    """A small job folder as Export-TokenTrainingJob writes it: job.json, data/train.jsonl, eval.jsonl, train-order.json."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    train_rows = [
        {"input_ids": [1, 5, 9], "labels": [1, 5, 9]},
        {"input_ids": [1, 7], "labels": [-100, 7]},
        {"input_ids": [1, 2, 3, 4], "labels": [-100, -100, 3, 4]},
    ]
    write_jsonl(data / "train.jsonl", train_rows)
    write_jsonl(data / "eval.jsonl", [{"input_ids": [1, 5], "labels": [1, 5]}])
    (data / "train-order.json").write_text(json.dumps({"epochs": [[2, 0, 1], [1, 2, 0]]}), encoding="utf-8")
    base = str(folder / "model")
    job = {
        "format": 1, "kind": "trainabletokens-job", "exported_by": "TrainableTokens test",
        "method": "TRAINABLE_TOKENS", "base_model": base, "dtype": "bfloat16",
        "peft_config": {"token_indices": [5, 7], "target_modules": ["embed_tokens"], "init_weights": True, "task_type": "CAUSAL_LM"},
        "adapter_config": expected_adapter_config(base),
        "training_arguments": {
            "output_dir": "output", "learning_rate": 0.001, "weight_decay": 0.0, "lr_scheduler_type": "linear",
            "warmup_steps": 1, "max_steps": 4, "num_train_epochs": 2, "per_device_train_batch_size": 2,
            "per_device_eval_batch_size": 2, "gradient_accumulation_steps": 1, "max_grad_norm": 1.0, "seed": 7,
            "data_seed": 7, "gradient_checkpointing": False, "gradient_checkpointing_kwargs": {"use_reentrant": False},
            "eval_strategy": "steps", "eval_steps": 2, "save_strategy": "steps", "save_steps": 2, "save_total_limit": 2,
            "load_best_model_at_end": True, "metric_for_best_model": "eval_loss", "greater_is_better": False,
            "logging_steps": 1, "logging_first_step": True, "report_to": "none", "remove_unused_columns": False,
            "dataloader_drop_last": False, "optim": "adamw_torch", "adam_beta1": 0.9, "adam_beta2": 0.999,
            "adam_epsilon": 1e-8, "bf16": False, "fp16": False,
        },
        "early_stopping": {"patience": 3, "threshold": 0.01},
        "evaluate_before_training": True,
        "data": {"train": "data/train.jsonl", "eval": "data/eval.jsonl", "order": "data/train-order.json",
                 "pad_token_id": 0, "train_examples": 3, "eval_examples": 1},
        "float32_trainable": True, "engine": "fsdp", "processes": 1, "nodes": 1, "warnings": [],
    }
    job.update(overrides)
    path = folder / "job.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    return path


def safetensors_file(path: Path, tensors: dict) -> None:
    header = json.dumps({k: {"dtype": "F32", "shape": s, "data_offsets": [0, 0]} for k, s in tensors.items()}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)


class ImportWithoutTorch(unittest.TestCase):
    def test_the_script_imports_and_runs_its_checks_without_torch(self):
        code = ("import importlib.util, sys; s = importlib.util.spec_from_file_location('t', sys.argv[1]); "
                "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
                "print(sorted(x for x in ('torch', 'transformers', 'peft') if x in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code, str(SCRIPT)], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), "[]")

    def test_the_script_compiles(self):
        import py_compile

        py_compile.compile(str(SCRIPT), doraise=True, cfile=os.path.join(tempfile.mkdtemp(), "train.pyc"))


class Padding(unittest.TestCase):
    def test_pads_on_the_right_with_pad_id_zero_mask_and_ignored_labels(self):
        batch = train.pad_examples([{"input_ids": [1, 5, 9], "labels": [1, 5, 9]},
                                    {"input_ids": [1, 7], "labels": [-100, 7]}], pad_token_id=0)
        self.assertEqual(batch["input_ids"], [[1, 5, 9], [1, 7, 0]])
        self.assertEqual(batch["attention_mask"], [[1, 1, 1], [1, 1, 0]])
        self.assertEqual(batch["labels"], [[-100, 5, 9], [-100, 7, -100]])

    def test_the_labelled_count_is_the_engines_positions_after_the_first(self):
        examples = [{"input_ids": [1, 5, 9], "labels": [1, 5, 9]}, {"input_ids": [1, 2, 3, 4], "labels": [-100, -100, 3, 4]}]
        engine = sum(1 for e in examples for t, l in enumerate(e["labels"]) if t > 0 and l != -100)
        self.assertEqual(train.labelled_count(train.pad_examples(examples, pad_token_id=3)), engine)
        self.assertEqual(engine, 4)

    def test_a_pad_id_that_is_also_a_real_token_is_still_masked_by_length(self):
        batch = train.pad_examples([{"input_ids": [3, 3], "labels": [3, 3]}, {"input_ids": [3], "labels": [3]}], pad_token_id=3)
        self.assertEqual(batch["attention_mask"], [[1, 1], [1, 0]])
        self.assertEqual(batch["labels"], [[-100, 3], [-100, -100]])

    def test_refuses_unequal_ids_and_labels(self):
        with self.assertRaises(ValueError):
            train.pad_examples([{"input_ids": [1, 2], "labels": [1]}], 0)


class Order(unittest.TestCase):
    def test_each_epoch_yields_its_exported_order(self):
        sampler = train.ExactOrderSampler([[2, 0, 1], [1, 2, 0]])
        self.assertEqual(len(sampler), 3)
        self.assertEqual(list(sampler), [2, 0, 1])
        sampler.set_epoch(1)
        self.assertEqual(list(sampler), [1, 2, 0])
        sampler.set_epoch(0)
        self.assertEqual(list(sampler), [2, 0, 1])

    def test_an_epoch_past_the_exported_ones_fails_loudly(self):
        sampler = train.ExactOrderSampler([[0, 1]])
        sampler.set_epoch(1)
        with self.assertRaisesRegex(train.JobError, "epoch 1 has no exported order"):
            iter(sampler)

    def test_several_processes_together_see_each_optimiser_steps_examples(self):
        # accelerate's BatchSamplerShard gives process r the batches r, r+P, ... of the sampler's consecutive batches,
        # so one optimiser step (P processes x accumulation batches each) holds the engine's consecutive batches.
        order = [5, 3, 0, 1, 4, 2, 7, 6]
        batches = [order[i:i + 2] for i in range(0, len(order), 2)]
        processes = 2
        per_process = [batches[r::processes] for r in range(processes)]
        step = sorted(i for r in range(processes) for i in per_process[r][0])
        self.assertEqual(step, sorted(batches[0] + batches[1]))
        self.assertEqual(list(train.ExactOrderSampler([order])), order)

    def test_the_order_file_must_visit_every_example_once(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "order.json"
            p.write_text(json.dumps({"epochs": [[0, 1, 2], [0, 0, 2]]}))
            with self.assertRaisesRegex(train.JobError, "epoch 1 is not an order of the 3"):
                train.read_order(p, 3)
            p.write_text(json.dumps({"epochs": [[0, 1]]}))
            with self.assertRaisesRegex(train.JobError, "epoch 0"):
                train.read_order(p, 3)
            p.write_text(json.dumps({"epochs": [[1, 0, 2]]}))
            self.assertEqual(train.read_order(p, 3), [[1, 0, 2]])


class JobFile(unittest.TestCase):
    def test_reads_a_job_and_its_data(self):
        with tempfile.TemporaryDirectory() as d:
            job = train.load_job(make_job(Path(d)))
            self.assertEqual(job["_folder"], str(Path(d).resolve()))
            rows = train.read_examples(train.job_file(job, job["data"]["train"]), "training")
            self.assertEqual(len(rows), 3)

    def test_refuses_a_json_file_that_is_not_a_job(self):
        with tempfile.TemporaryDirectory() as d:
            p = make_job(Path(d), kind="something-else")
            with self.assertRaisesRegex(train.JobError, "not a TrainableTokens job file"):
                train.load_job(p)
            p = make_job(Path(d), format=2)
            with self.assertRaisesRegex(train.JobError, "reads format 1"):
                train.load_job(p)
            p = make_job(Path(d), method="IA3")
            with self.assertRaisesRegex(train.JobError, "'method' is 'IA3'"):
                train.load_job(p)

    def test_bad_data_lines_are_named_with_a_count_of_the_rest(self):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "train.jsonl"
            lines = ['{"input_ids": [1], "labels": [1]}', "not json", '{"input_ids": [1, 2], "labels": [1]}',
                     '{"input_ids": [-3], "labels": [1]}', '{"input_ids": [1], "labels": [-5]}', '{"input_ids": true}']
            p.write_text("\n".join(lines) + "\n")
            with self.assertRaises(train.JobError) as caught:
                train.read_examples(p, "training")
            message = str(caught.exception)
            self.assertIn("line 2: not JSON", message)
            self.assertIn("line 3: 2 input_ids but 1 labels", message)
            self.assertIn("and 2 more", message)


class ConfigComparison(unittest.TestCase):
    def test_peft_version_is_never_compared(self):
        expected = expected_adapter_config("/m")
        saved = dict(expected, peft_version="0.21.0")
        self.assertEqual(train.compare_adapter_config(saved, expected, model_moved=False), [])

    def test_base_model_differs_only_when_the_model_was_not_moved(self):
        expected = expected_adapter_config("/m")
        saved = dict(expected, base_model_name_or_path="/elsewhere")
        self.assertEqual([d["key"] for d in train.compare_adapter_config(saved, expected, model_moved=False)],
                         ["base_model_name_or_path"])
        self.assertEqual(train.compare_adapter_config(saved, expected, model_moved=True), [])

    def test_set_valued_lists_compare_without_order_but_token_indices_keep_theirs(self):
        expected = dict(expected_adapter_config("/m"), target_modules=["q_proj", "v_proj"])
        saved = dict(expected, target_modules=["v_proj", "q_proj"])
        self.assertEqual(train.compare_adapter_config(saved, expected, False), [])
        saved = dict(expected, token_indices=[7, 5])
        self.assertEqual([d["key"] for d in train.compare_adapter_config(saved, expected, False)], ["token_indices"])

    def test_a_key_only_peft_writes_at_its_default_is_no_difference(self):
        expected = expected_adapter_config("/m")
        saved = dict(expected, use_dora=False, loftq_config={})
        self.assertEqual(train.compare_adapter_config(saved, expected, False, {"use_dora": False, "loftq_config": {}}), [])
        saved["use_dora"] = True
        self.assertEqual([d["key"] for d in train.compare_adapter_config(saved, expected, False, {"use_dora": False, "loftq_config": {}})], ["use_dora"])

    def test_missing_and_extra_keys_and_bool_versus_number_are_differences(self):
        expected = expected_adapter_config("/m")
        saved = dict(expected, init_weights=1, new_key="x")
        del saved["revision"]
        found = {d["key"]: d for d in train.compare_adapter_config(saved, expected, False)}
        self.assertEqual(sorted(found), ["init_weights", "new_key", "revision"])
        self.assertEqual(found["revision"]["missing"], "actual")
        self.assertEqual(found["new_key"]["missing"], "expected")


class InitialRowsAndFinalEvaluation(unittest.TestCase):
    def test_initial_rows_match_the_live_parameter_of_the_default_adapter_and_a_stray_tensor_is_refused(self):
        key = "base_model.model.model.embed_tokens.trainable_tokens_delta"
        self.assertEqual(train.match_initial_rows([key + ".default", "other.weight"], [key]), {key: key + ".default"})
        with self.assertRaisesRegex(train.JobError, "match no trainable parameter"):
            train.match_initial_rows(["other.weight"], [key])

    def test_the_last_step_is_evaluated_once_whatever_the_schedule(self):
        history = [{"loss": 2.0, "step": 4}, {"eval_loss": 1.9, "step": 4}]
        self.assertFalse(train.needs_final_evaluation(history, 4))
        self.assertTrue(train.needs_final_evaluation(history, 6))
        self.assertTrue(train.needs_final_evaluation([], 1))


class EarlyStopping(unittest.TestCase):
    def test_the_settings_transformers_asserts_are_checked_before_a_model_is_loaded(self):
        with tempfile.TemporaryDirectory() as d:
            job = train.load_job(make_job(Path(d)))
            train.check_early_stopping(job, has_eval=True)
            job["training_arguments"].update(load_best_model_at_end=False, eval_strategy="no")
            with self.assertRaisesRegex(train.JobError, "needs evaluation data .*eval_strategy.*load_best_model_at_end"):
                train.check_early_stopping(job, has_eval=False)
            job["early_stopping"] = None
            train.check_early_stopping(job, has_eval=False)


class OutputFolder(unittest.TestCase):
    def test_plans(self):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "output"
            self.assertEqual(train.output_dir_plan(out, False, False), "create")
            out.mkdir()
            self.assertEqual(train.output_dir_plan(out, False, False), "use")
            (out / "checkpoint-2").mkdir()
            (out / "adapter_config.json").write_text("{}")
            with self.assertRaisesRegex(train.JobError, "not empty.*--resume.*--overwrite-output-dir"):
                train.output_dir_plan(out, False, False)
            self.assertEqual(train.output_dir_plan(out, True, False), "resume")
            self.assertEqual(train.output_dir_plan(out, False, True), "clear")
            with self.assertRaisesRegex(train.JobError, "contradict"):
                train.output_dir_plan(out, True, True)

    def test_overwrite_never_clears_a_folder_train_py_did_not_write(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "thesis.tex").write_text("x")
            with self.assertRaisesRegex(train.JobError, "did not write \\(thesis.tex\\)"):
                train.output_dir_plan(Path(d), False, True)

    def test_resume_needs_a_checkpoint(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "adapter_config.json").write_text("{}")
            with self.assertRaisesRegex(train.JobError, "no checkpoint-N"):
                train.output_dir_plan(Path(d), True, False)
            with self.assertRaisesRegex(train.JobError, "does not exist"):
                train.output_dir_plan(Path(d) / "nothing", True, False)

    def test_a_file_is_not_an_output_folder(self):
        with tempfile.TemporaryDirectory() as d:
            f = Path(d) / "f"
            f.write_text("x")
            with self.assertRaisesRegex(train.JobError, "is a file"):
                train.output_dir_plan(f, False, False)


class Arguments(unittest.TestCase):
    def test_split_keeps_accepted_and_names_the_rest(self):
        accepted, unknown = train.split_arguments({"a": 1, "zz": 2, "b": 3, "overwrite_output_dir": True}, {"a", "b"})
        self.assertEqual(accepted, {"a": 1, "b": 3})
        self.assertEqual(unknown, ["overwrite_output_dir", "zz"])

    def test_unknown_names_stop_the_job_unless_allowed(self):
        with self.assertRaisesRegex(train.JobError, "X 1.0 does not accept: zz"):
            train.refuse_unknown("X 1.0", ["zz"], allow=False)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            train.refuse_unknown("X 1.0", ["zz"], allow=True)
        self.assertIn("warning: X 1.0 does not accept: zz", err.getvalue())
        train.refuse_unknown("X", [], allow=False)

    def test_nulls_are_left_to_pefts_default_only_where_that_default_is_not_null(self):
        defaults = {"rank_pattern": {}, "layers_pattern": None, "bias": "none"}
        self.assertEqual(train.peft_kwargs({"rank_pattern": None, "layers_pattern": None, "bias": None, "r": 4}, defaults),
                         {"layers_pattern": None, "r": 4})

    def test_evaluation_before_training_becomes_eval_on_start_and_output_dir_is_resolved(self):
        job = {"training_arguments": {"output_dir": "output", "seed": 3}}
        args = train.resolve_training_arguments(job, Path("/jobs/j/output"), evaluate_first=True)
        self.assertEqual(args, {"output_dir": "/jobs/j/output", "seed": 3, "eval_on_start": True})
        self.assertNotIn("eval_on_start", train.resolve_training_arguments(job, Path("/o"), evaluate_first=False))


class Precision(unittest.TestCase):
    def job(self, dtype="bfloat16", fp32=True):
        return {"dtype": dtype, "float32_trainable": fp32}

    def test_one_process_keeps_trained_rows_in_float32(self):
        plan = train.adapter_precision_plan(self.job(), {})
        self.assertTrue(plan["autocast_adapter_dtype"])
        self.assertTrue(plan["float32_trainable"])
        self.assertIsNone(plan["note"])

    def test_fsdp_creates_the_adapter_in_the_models_dtype_and_says_whether_float32_is_kept(self):
        plan = train.adapter_precision_plan(self.job(), {"ACCELERATE_USE_FSDP": "true", "ACCELERATE_MIXED_PRECISION": "no"})
        self.assertFalse(plan["autocast_adapter_dtype"])
        self.assertFalse(plan["float32_trainable"])
        self.assertIn("not float32", plan["note"])
        plan = train.adapter_precision_plan(self.job(), {"ACCELERATE_USE_FSDP": "true", "ACCELERATE_MIXED_PRECISION": "bf16"})
        self.assertFalse(plan["autocast_adapter_dtype"])
        self.assertTrue(plan["float32_trainable"])

    def test_deepspeed_turns_on_its_16_bit_mode_for_float32_master_copies(self):
        plan = train.adapter_precision_plan(self.job("float16"), {"ACCELERATE_USE_DEEPSPEED": "true"})
        self.assertFalse(plan["autocast_adapter_dtype"])
        self.assertEqual(plan["training_argument_overrides"], {"fp16": True})

    def test_float32_models_and_jobs_without_float32_rows(self):
        self.assertTrue(train.adapter_precision_plan(self.job("float32"), {"ACCELERATE_USE_FSDP": "true"})["float32_trainable"])
        plan = train.adapter_precision_plan(self.job(fp32=False), {})
        self.assertFalse(plan["autocast_adapter_dtype"])
        self.assertIsNone(plan["note"])


def render(name: str, values: dict) -> str:
    text = (TEMPLATES / name).read_text(encoding="utf-8")
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", str(v))
    return text


class Templates(unittest.TestCase):
    VALUES = {"num_processes": 16, "num_machines": 2, "mixed_precision": "bf16", "transformer_layer_cls": "LlamaDecoderLayer"}

    def test_every_placeholder_is_listed_in_the_header_and_nothing_is_left_after_rendering(self):
        import re

        for name in ("fsdp.yaml", "deepspeed.yaml", "zero3.json"):
            text = (TEMPLATES / name).read_text(encoding="utf-8")
            used = set(re.findall(r"\{\{(\w+)\}\}", "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))))
            listed = set(re.findall(r"#\s+\{\{(\w+)\}\}", text))
            self.assertEqual(used - listed, set(), name)
            self.assertNotIn("{{", "\n".join(l for l in render(name, self.VALUES).splitlines() if not l.lstrip().startswith("#")))

    def test_fsdp_config_is_fsdp1_with_original_parameters_and_a_full_state_dict(self):
        import yaml

        config = yaml.safe_load(render("fsdp.yaml", self.VALUES))
        self.assertEqual(config["distributed_type"], "FSDP")
        self.assertEqual((config["num_processes"], config["num_machines"], config["mixed_precision"]), (16, 2, "bf16"))
        fsdp = config["fsdp_config"]
        self.assertEqual(fsdp["fsdp_version"], 1)
        self.assertIs(fsdp["fsdp_use_orig_params"], True)
        self.assertEqual(fsdp["fsdp_state_dict_type"], "FULL_STATE_DICT")
        self.assertEqual(fsdp["fsdp_auto_wrap_policy"], "TRANSFORMER_BASED_WRAP")
        self.assertEqual(fsdp["fsdp_transformer_layer_cls_to_wrap"], "LlamaDecoderLayer")
        # accelerate refuses cpu_ram_efficient_loading without sync_module_states.
        self.assertTrue(fsdp["fsdp_sync_module_states"] or not fsdp["fsdp_cpu_ram_efficient_loading"])
        config = yaml.safe_load(render("fsdp.yaml", dict(self.VALUES, mixed_precision="no")))
        self.assertEqual(config["mixed_precision"], "no")

    def test_deepspeed_config_is_zero3_gathering_16_bit_weights_on_save(self):
        import yaml

        config = yaml.safe_load(render("deepspeed.yaml", self.VALUES))
        self.assertEqual(config["distributed_type"], "DEEPSPEED")
        self.assertEqual(config["deepspeed_config"]["deepspeed_config_file"], "accelerate/zero3.json")
        zero = json.loads(render("zero3.json", self.VALUES))
        self.assertEqual(zero["zero_optimization"]["stage"], 3)
        self.assertIs(zero["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"], True)
        for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"):
            self.assertEqual(zero[key], "auto", key)

    def test_torchrun_gets_the_environment_accelerate_launch_would_set(self):
        import yaml

        with tempfile.TemporaryDirectory() as d:
            folder = Path(d) / "accelerate"
            folder.mkdir()
            (folder / "zero3.json").write_text(render("zero3.json", self.VALUES))
            env = train.accelerate_env_from_config(yaml.safe_load(render("fsdp.yaml", self.VALUES)), folder / "fsdp.yaml")
            self.assertEqual(env["ACCELERATE_USE_FSDP"], "true")
            self.assertEqual(env["FSDP_USE_ORIG_PARAMS"], "true")
            self.assertEqual(env["FSDP_STATE_DICT_TYPE"], "FULL_STATE_DICT")
            self.assertEqual(env["FSDP_TRANSFORMER_CLS_TO_WRAP"], "LlamaDecoderLayer")
            self.assertEqual(env["FSDP_VERSION"], "1")
            self.assertEqual(env["ACCELERATE_MIXED_PRECISION"], "bf16")
            env = train.accelerate_env_from_config(yaml.safe_load(render("deepspeed.yaml", self.VALUES)), folder / "deepspeed.yaml")
            self.assertEqual(env["ACCELERATE_USE_DEEPSPEED"], "true")
            self.assertEqual(env["ACCELERATE_DEEPSPEED_ZERO3_INIT"], "true")
            self.assertTrue(Path(env["ACCELERATE_DEEPSPEED_CONFIG_FILE"]).is_file())


class SavedAdapter(unittest.TestCase):
    def test_empty_or_misshaped_rows_are_problems(self):
        with tempfile.TemporaryDirectory() as d:
            folder = Path(d)
            (folder / "adapter_config.json").write_text("{}")
            safetensors_file(folder / "adapter_model.safetensors",
                             {"base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta": [0]})
            problems = train.check_saved_adapter(folder, 2)
            self.assertEqual(len(problems), 1)
            self.assertIn("#2946", problems[0])
            safetensors_file(folder / "adapter_model.safetensors", {"base_model.model.model.embed_tokens.trainable_tokens_delta": [3, 8]})
            self.assertIn("has 3 rows, the job trains 2", train.check_saved_adapter(folder, 2)[0])
            safetensors_file(folder / "adapter_model.safetensors", {"base_model.model.model.embed_tokens.trainable_tokens_delta": [2, 8]})
            self.assertEqual(train.check_saved_adapter(folder, 2), [])

    def test_missing_files_are_problems(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(train.check_saved_adapter(Path(d), 2),
                             ["adapter_config.json is missing", "adapter_model.safetensors is missing"])

    def test_token_count_comes_from_either_method(self):
        self.assertEqual(train.token_count_of({"method": "TRAINABLE_TOKENS", "peft_config": {"token_indices": [1, 2, 3]}}), 3)
        self.assertEqual(train.token_count_of({"method": "LORA", "peft_config": {"trainable_token_indices": {"embed_tokens": [4]}}}), 1)


class MainWithStandIns(unittest.TestCase):
    """train.py's main() against the recording stand-ins for torch, transformers and peft in fake_modules/."""

    def setUp(self):
        self._saved_path = list(sys.path)
        self._saved_env = dict(os.environ)
        for name in ("torch", "transformers", "peft"):
            sys.modules.pop(name, None)
        sys.path.insert(0, str(FAKES))
        self.transformers = importlib.import_module("transformers")
        self.peft = importlib.import_module("peft")
        self.torch = importlib.import_module("torch")
        self.assertTrue(self.transformers.__file__.startswith(str(FAKES)), "the stand-in transformers must be the one imported")
        self.folder = Path(tempfile.mkdtemp())
        self.job_path = make_job(self.folder)
        for var in ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED", "ACCELERATE_MIXED_PRECISION", "RANK"):
            os.environ.pop(var, None)

    def tearDown(self):
        sys.path[:] = self._saved_path
        os.environ.clear()
        os.environ.update(self._saved_env)
        for name in ("torch", "transformers", "peft"):
            sys.modules.pop(name, None)
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)

    def main(self, *args):
        job = json.loads(self.job_path.read_text())
        if self.transformers.SAVED_ADAPTER_CONFIG["value"] is None:
            self.transformers.SAVED_ADAPTER_CONFIG["value"] = dict(job["adapter_config"], peft_version="0.21.0")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = train.main(["--job", str(self.job_path), *args])
        return rc, out.getvalue(), err.getvalue()

    def test_builds_training_arguments_peft_config_and_trainer_from_the_job(self):
        self.transformers.CALLS["epochs_to_run"] = 2
        rc, out, err = self.main()
        self.assertEqual(rc, 0, err)
        job = json.loads(self.job_path.read_text())
        calls = self.transformers.CALLS
        expected_args = dict(job["training_arguments"], output_dir=str((self.folder / "output").resolve()), eval_on_start=True)
        got = {k: v for k, v in calls["TrainingArguments"].items() if k in expected_args}
        self.assertEqual(got, expected_args)
        self.assertEqual(calls["set_seed"], 7)
        self.assertEqual(calls["from_pretrained"], {"path": job["base_model"], "dtype": self.torch.bfloat16})
        peft_call = self.peft.CALLS["get_peft_model"]
        self.assertIsInstance(peft_call["config"], self.peft.TrainableTokensConfig)
        self.assertEqual(peft_call["config"].__dict__, job["peft_config"])
        self.assertIs(peft_call["autocast_adapter_dtype"], True)
        trainer = calls["Trainer"]
        self.assertEqual(len(trainer["train_dataset"]), 3)
        self.assertEqual(len(trainer["eval_dataset"]), 1)
        (callback,) = trainer["callbacks"]
        self.assertEqual((callback.patience, callback.threshold), (3, 0.01))
        # The sampler Trainer asks for visits each epoch in the exported order, and the collator pads those examples.
        self.assertEqual(calls["train"]["epochs"], [[2, 0, 1], [1, 2, 0]])
        first = calls["train"]["first_batches"][0]
        self.assertEqual(first["input_ids"].data, [[1, 2, 3, 4], [1, 5, 9, 0]])
        self.assertEqual(first["labels"].data, [[-100, -100, 3, 4], [-100, 5, 9, -100]])
        self.assertIs(first["input_ids"].dtype, self.torch.long)
        result = json.loads((self.folder / "output" / "job-result.json").read_text())
        self.assertEqual(result["adapter_config_differences"], [])
        self.assertEqual(result["adapter_problems"], [])
        self.assertEqual((result["global_step"], result["train_loss"]), (1, 1.5))
        self.assertEqual(result["log_history"], [{"loss": 1.5, "step": 1}])
        self.assertEqual(result["versions"]["python"], sys.version.split()[0])

    def test_an_argument_transformers_does_not_take_stops_the_job_and_is_named(self):
        job = json.loads(self.job_path.read_text())
        job["training_arguments"]["overwrite_output_dir"] = True
        self.job_path.write_text(json.dumps(job))
        rc, out, err = self.main()
        self.assertEqual(rc, 2)
        self.assertIn("does not accept: overwrite_output_dir", err)
        self.assertNotIn("Trainer", self.transformers.CALLS)
        rc, out, err = self.main("--allow-unknown-arguments")
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: transformers.TrainingArguments (transformers 5.17.0) does not accept: overwrite_output_dir", err)
        self.assertNotIn("overwrite_output_dir", self.transformers.CALLS["TrainingArguments"])

    def test_an_unknown_peft_setting_stops_the_job(self):
        job = json.loads(self.job_path.read_text())
        job["peft_config"]["fancy_init"] = "x"
        self.job_path.write_text(json.dumps(job))
        rc, out, err = self.main()
        self.assertEqual(rc, 2)
        self.assertIn("peft.TrainableTokensConfig (peft 0.21.0) does not accept: fancy_init", err)

    def test_lora_with_nulls_builds_a_lora_config_with_pefts_defaults(self):
        job = json.loads(self.job_path.read_text())
        job["method"] = "LORA"
        job["peft_config"] = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "target_modules": ["q_proj"], "exclude_modules": None,
                              "use_rslora": False, "bias": "none", "init_lora_weights": True, "layers_to_transform": None,
                              "layers_pattern": None, "rank_pattern": None, "alpha_pattern": None, "modules_to_save": None,
                              "trainable_token_indices": [5, 7], "ensure_weight_tying": False, "task_type": "CAUSAL_LM"}
        self.job_path.write_text(json.dumps(job))
        rc, out, err = self.main()
        self.assertEqual(rc, 0, err)
        config = self.peft.CALLS["get_peft_model"]["config"]
        self.assertIsInstance(config, self.peft.LoraConfig)
        self.assertEqual((config.r, config.trainable_token_indices, config.rank_pattern), (4, [5, 7], {}))

    def test_dry_run_prints_the_settings_and_does_not_train(self):
        rc, out, err = self.main("--dry-run")
        self.assertEqual(rc, 0, err)
        settings = json.loads(out)
        self.assertEqual(settings["training_arguments"]["learning_rate"], 0.001)
        self.assertEqual(settings["trainable_parameters"][0]["dtype"], "float32")
        self.assertNotIn("train", self.transformers.CALLS)
        self.assertFalse((self.folder / "output").exists())

    def test_a_non_empty_output_folder_is_refused_and_resume_passes_through(self):
        out_dir = self.folder / "output"
        (out_dir / "checkpoint-2").mkdir(parents=True)
        rc, out, err = self.main()
        self.assertEqual(rc, 2)
        self.assertIn("not empty", err)
        rc, out, err = self.main("--resume")
        self.assertEqual(rc, 0, err)
        self.assertIs(self.transformers.CALLS["train"]["resume_from_checkpoint"], True)
        self.assertFalse(self.transformers.CALLS["TrainingArguments"]["eval_on_start"], "no step-0 evaluation on resume")

    def test_overwrite_replaces_an_earlier_output(self):
        out_dir = self.folder / "output"
        (out_dir / "checkpoint-2").mkdir(parents=True)
        rc, out, err = self.main("--overwrite-output-dir")
        self.assertEqual(rc, 0, err)
        self.assertFalse((out_dir / "checkpoint-2").exists())
        self.assertTrue((out_dir / "job-result.json").is_file())

    def test_a_config_difference_is_reported_and_fails_the_run(self):
        job = json.loads(self.job_path.read_text())
        self.transformers.SAVED_ADAPTER_CONFIG["value"] = dict(job["adapter_config"], peft_version="0.21.0", init_weights=False)
        rc, out, err = self.main()
        self.assertEqual(rc, 3)
        self.assertIn("'init_weights' is False, expected True", err)
        result = json.loads((self.folder / "output" / "job-result.json").read_text())
        self.assertEqual([d["key"] for d in result["adapter_config_differences"]], ["init_weights"])

    def test_model_override_is_loaded_and_its_path_is_not_a_difference(self):
        job = json.loads(self.job_path.read_text())
        moved = str(self.folder / "moved-model")
        self.transformers.SAVED_ADAPTER_CONFIG["value"] = dict(job["adapter_config"], peft_version="0.21.0", base_model_name_or_path=moved)
        rc, out, err = self.main("--model", moved)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.transformers.CALLS["from_pretrained"]["path"], moved)
        result = json.loads((self.folder / "output" / "job-result.json").read_text())
        self.assertEqual(result["adapter_config_differences"], [])

    def test_under_torchrun_the_accelerate_config_sets_what_accelerate_launch_would(self):
        folder = self.folder / "accelerate"
        folder.mkdir()
        (folder / "fsdp.yaml").write_text(render("fsdp.yaml", dict(Templates.VALUES, mixed_precision="no")))
        rc, out, err = self.main("--accelerate-config", str(folder / "fsdp.yaml"), "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertEqual((os.environ["ACCELERATE_USE_FSDP"], os.environ["FSDP_USE_ORIG_PARAMS"]), ("true", "true"))
        self.assertEqual(json.loads(out)["engine"], "fsdp")
        self.assertIs(self.peft.CALLS["get_peft_model"]["autocast_adapter_dtype"], False)
        self.assertIn("not float32", err)

    def test_under_deepspeed_the_adapter_is_made_in_the_models_dtype_and_bf16_mode_is_on(self):
        os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
        rc, out, err = self.main()
        self.assertEqual(rc, 0, err)
        self.assertIs(self.peft.CALLS["get_peft_model"]["autocast_adapter_dtype"], False)
        self.assertIs(self.transformers.CALLS["TrainingArguments"]["bf16"], True)
        self.assertIn("TrainingArguments changed for this engine: {'bf16': True}", err)


def tearDownModule():
    # The stand-ins keep state in module globals; nothing else in this run imports them.
    for name in ("torch", "transformers", "peft"):
        sys.modules.pop(name, None)


if __name__ == "__main__":
    unittest.main()
