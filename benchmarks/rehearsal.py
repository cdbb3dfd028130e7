"""A CPU rehearsal of the paper-size configuration: ``kedro run --env rakuten`` end to end.

    make rehearsal                        # = python benchmarks/rehearsal.py (minutes, no GPU)
    python benchmarks/rehearsal.py --work /tmp/rehearsal --products 200 --test 20

In a work folder (default ``build/rehearsal/``) it makes what a user would provide, with
random weights: a camembert-base-shaped encoder and a CamemBERT (Unigram) tokenizer saved by
``save_pretrained``, and the ResNet ImageNet state dicts ``conf/rakuten`` names, saved under
their torchvision file names in a torch hub cache (``$TORCH_HOME``); then 200 products made
by the demo generator in the challengedata layout, a truncated photo in each subset; then runs
``kedro run --env rakuten`` in a scratch copy of the project with only parameter overrides
(``benchmarks/rehearsal.yml``: a few optimisation steps per stage, every shape kept). It
checks that every output of the pipeline that lives in a file was written (asking the
project's catalog for environment ``rakuten`` in a fresh process), records the wall time, the
peak RSS and the slowest nodes, and writes ``benchmarks/results/rehearsal.json``.

It proves the paths a GPU run takes and a demo run does not: a local pretrained encoder and
its tokenizer, the pooler head, ImageNet weights from the hub cache, 224 -> 448 px with DCL,
placeholders for broken photos, every namespace of the 12-member grid. It does not prove
accuracy (the weights are random) nor anything about GPU kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
import pandas as pd
import torch
import torchvision
import yaml
from kedro.config import OmegaConfigLoader
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, CamembertConfig, CamembertModel, CamembertTokenizer

from rakuten_kedro.demo import generate_demo_dataset
from rakuten_kedro.demo.generator import (
    LABEL_NOISE_FILE,
    MANIFEST_FILE,
    TEST_IMAGE_DIR,
    TEST_LABELS_FILE,
    TRAIN_IMAGE_DIR,
    X_TRAIN_FILE,
)
from rakuten_kedro.grid import load_grid
from rakuten_kedro.models.image import imagenet_weights_file
from rakuten_kedro.settings import CONFIG_LOADER_ARGS

sys.path.insert(0, str(common.PROJECT))
from tests.kedro_project import KEDRO_CLI, kedro_environment, scratch_project  # noqa: E402

ENV = "rakuten"
RUN_CONFIG = common.BENCH_DIR / "rehearsal.yml"
DEFAULT_WORK = common.PROJECT / "build" / "rehearsal"
#: Written first into the work folder: a folder holding it was made by this script and may be
#: emptied by it; any other non-empty folder is refused.
MARKER = ".made-by-rehearsal"
#: camembert-base's config.json (huggingface.co/almanach/camembert-base), the shape stood in.
CAMEMBERT_BASE = {
    "vocab_size": 32005, "hidden_size": 768, "num_hidden_layers": 12,
    "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 514,
    "type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 5, "eos_token_id": 6,
    "layer_norm_eps": 1e-5,
}  # fmt: skip
#: camembert-base's vocabulary around the pieces: fairseq's four specials, sentencepiece's
#: three (``<s>`` 5 and ``</s>`` 6 are the ones used), then the pieces, ``<mask>`` last.
CAMEMBERT_HEAD = ["<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>", "<unk>NOTUSED", "<s>", "</s>"]
UNUSED_PIECE_SCORE = -100.0  # filler pieces, never preferred by the Unigram lattice
SEED = 2020
#: Labelled products of every code at least: with 200 products and rehearsal.yml's validation
#: share, every code has validation rows and the largest has 8, one per fusion fold.
MIN_PER_CODE = 3
#: Columns of the run's console log (rich wraps at 80 when the output is not a terminal).
LOG_COLUMNS = "200"
#: Around a logged message: the time, the level, and the source file and line.
LOG_DECORATION = re.compile(r"^(\[[^]]*\])?\s*INFO\s+|\s+\S+\.py:\d+\s*$")
#: Prefix of the line that carries the output listing from the fresh process (Kedro logs too).
OUTPUTS_LINE = "REHEARSAL_OUTPUTS "


# -- the work folder --------------------------------------------------------------------------


def prepare_work_folder(work: Path) -> Path:
    """An empty work folder, marked as the rehearsal's.

    Raises:
        SystemExit: When ``work`` holds files this script did not make (they are left alone).
    """
    if work.exists() and any(work.iterdir()):
        if not (work / MARKER).is_file():
            raise SystemExit(
                f"{work} is not empty and was not made by the rehearsal (no {MARKER}): "
                "nothing was deleted; pass another --work folder"
            )
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / MARKER).write_text("made by benchmarks/rehearsal.py; emptied by its next run\n")
    return work


# -- stand-in weights -------------------------------------------------------------------------


def train_camembert_tokenizer(texts: list[str], vocab_size: int) -> CamembertTokenizer:
    """A CamemBERT tokenizer (Unigram, metaspace) with pieces learnt from ``texts``, laid out
    like camembert-base's vocabulary: the same special tokens at the same ids, ``<mask>`` at
    ``vocab_size - 1``, unused filler pieces between the learnt ones and the mask."""
    learner = Tokenizer(models.Unigram())
    learner.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace()]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=8000, special_tokens=["<unk>"], unk_token="<unk>", show_progress=False
    )
    learner.train_from_iterator(texts, trainer=trainer)
    learnt = [
        (piece, score)
        for piece, score in json.loads(learner.to_str())["model"]["vocab"]
        if piece != "<unk>"
    ]
    vocab = [(token, 0.0) for token in CAMEMBERT_HEAD] + learnt
    unused = vocab_size - 1 - len(vocab)
    if unused < 0:
        raise ValueError(f"{len(learnt)} learnt pieces do not fit a vocabulary of {vocab_size}")
    vocab += [(f"<unused{i}>", UNUSED_PIECE_SCORE) for i in range(unused)] + [("<mask>", 0.0)]
    return CamembertTokenizer(vocab=vocab)


def save_stand_in_encoder(folder: Path, texts: list[str], max_length: int) -> dict[str, Any]:
    """A randomly initialised camembert-base-shaped encoder with its tokenizer, as
    ``save_pretrained`` (safetensors) writes them: the folder a user points
    ``model_name_or_path`` at. Checks that ``AutoTokenizer`` reads it back as CamemBERT's.

    Returns:
        What was saved (parameters, vocabulary, special token ids).
    """
    torch.manual_seed(SEED)
    encoder = CamembertModel(CamembertConfig(**CAMEMBERT_BASE))
    encoder.save_pretrained(folder, safe_serialization=True)
    train_camembert_tokenizer(texts, CAMEMBERT_BASE["vocab_size"]).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = {
        "pad": tokenizer.pad_token_id, "bos": tokenizer.bos_token_id,
        "eos": tokenizer.eos_token_id, "unk": tokenizer.unk_token_id,
        "mask": tokenizer.mask_token_id,
    }  # fmt: skip
    expected = {"pad": 1, "bos": 5, "eos": 6, "unk": 3, "mask": 32004}
    if ids != expected or len(tokenizer) != CAMEMBERT_BASE["vocab_size"]:
        raise RuntimeError(f"the stand-in tokenizer's ids {ids} are not camembert-base's")
    pair = tokenizer(texts[0], texts[1], truncation=True, max_length=max_length)["input_ids"]
    return {
        "folder": str(folder),
        "parameters": sum(p.numel() for p in encoder.parameters()),
        "tokenizer_class": type(tokenizer).__name__,
        "vocabulary": len(tokenizer),
        "special_ids": ids,
        "pair_example": pair[:12],
    }


def imagenet_models(params: dict[str, Any]) -> set[tuple[int, str]]:
    """The (depth, weights name) of every ResNet the environment starts from ImageNet."""
    blocks = [
        params[variant.name]["model"]
        for variant in load_grid(ENV, common.PROJECT / "conf").used_image()
    ]
    blocks.append(params["denoising"]["model"])
    if any(block.get("weights_path") for block in blocks):
        raise ValueError("conf/rakuten sets a weights_path: the rehearsal stands in for the hub")
    return {(int(block["depth"]), block["weights"]) for block in blocks if block["weights"]}


def save_stand_in_resnets(torch_home: Path, wanted: set[tuple[int, str]]) -> list[str]:
    """Random torchvision ResNet state dicts at the torch hub cache's file names of ``wanted``
    (``$TORCH_HOME/hub/checkpoints/resnet152-f82ba261.pth``, …), as a user copies them."""
    saved = []
    os.environ["TORCH_HOME"] = str(torch_home)  # torch.hub.get_dir() reads it on each call
    for depth, weights in sorted(wanted):
        torch.manual_seed(SEED + depth)
        path = imagenet_weights_file(depth, weights)
        path.parent.mkdir(parents=True, exist_ok=True)
        resnet = getattr(torchvision.models, f"resnet{depth}")(weights=None)
        torch.save(resnet.state_dict(), path)
        saved.append(str(path))
    return saved


# -- data -------------------------------------------------------------------------------------


def make_raw_data(raw: Path, n_products: int, n_test: int, image_size: int) -> dict[str, Any]:
    """Products in the challengedata layout, and one truncated photo in each subset.

    The demo generator's answer files (injected label flips, test labels) go to
    ``raw/../demo_answers``: real data has none, so the run reads what a user's folder holds.
    """
    generate_demo_dataset(
        raw,
        n_products=n_products,
        n_test=n_test,
        image_size=image_size,
        min_per_class=MIN_PER_CODE,
        seed=SEED,
        progress=False,
    )
    answers = raw.parent / "demo_answers"
    answers.mkdir()
    for name in (LABEL_NOISE_FILE, TEST_LABELS_FILE, MANIFEST_FILE):
        (raw / name).replace(answers / name)
    broken = [truncate_photo(raw / TRAIN_IMAGE_DIR), truncate_photo(raw / TEST_IMAGE_DIR)]
    return {"folder": str(raw), "n_products": n_products, "n_test": n_test, "broken": broken}


def truncate_photo(folder: Path) -> str:
    """Cut the first photo of ``folder`` to half its bytes: a truncated JPEG (an interrupted
    download), which the placeholder policy must report and replace."""
    photo = sorted(folder.glob("*.jpg"))[0]
    data = photo.read_bytes()
    photo.write_bytes(data[: len(data) // 2])
    return photo.name


def texts_of(raw: Path) -> list[str]:
    """Titles and descriptions of the labelled products (what the stand-in tokenizer learns)."""
    products = pd.read_csv(raw / X_TRAIN_FILE, index_col=0)
    return [str(text) for text in [*products["designation"], *products["description"]]
            if isinstance(text, str) and text]  # fmt: skip


# -- the run ----------------------------------------------------------------------------------


def write_run_config(path: Path, raw: Path, encoder: Path) -> dict[str, Any]:
    """``rehearsal.yml`` plus the two local paths, as a Kedro run config; returns its params."""
    config = yaml.safe_load(RUN_CONFIG.read_text(encoding="utf-8"))
    params = config["run"]["params"]
    params["data"] = {"raw_dir": str(raw)}
    params["text_transformer"].setdefault("model", {})["model_name_or_path"] = str(encoder)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return params


def run_kedro(project: Path, config: Path, environment: dict[str, str], log: Path) -> dict:
    """``kedro run --env rakuten --config CONFIG``, its output shown and kept in ``log``.

    Returns:
        Exit code, wall seconds and peak RSS (MiB) of the run: ``ru_maxrss`` of this
        process's children, read when the run has ended and before any other child is waited
        for (the largest process of the run: kedro itself, not its DataLoader workers).
    """
    command = [str(KEDRO_CLI), "run", "--env", ENV, "--config", str(config)]
    print(f"$ {' '.join(command)}   (in {project})", flush=True)
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            command, cwd=project, env=environment, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )  # fmt: skip
        for line in process.stdout:
            sys.stdout.write(line)
            out.write(line)
        code = process.wait()
    return {
        "exit_code": code,
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def slowest_nodes(log: Path) -> list[str]:
    """The run's own "Node wall times" rows (``NodeTimingHooks``), without the log's level,
    time and source columns (one row per line: the run's log is :data:`LOG_COLUMNS` wide)."""
    lines = log.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if "Node wall times" in line), None)
    if start is None:
        return []
    table = []
    for line in lines[start + 1 :]:
        row = LOG_DECORATION.sub("", line).strip()
        table.append(row)
        if row.endswith("total"):
            break
    return table


# -- the outputs ------------------------------------------------------------------------------


def file_outputs(project: Path, environment: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every output of the default pipeline of ``project`` for ``rakuten``: its dataset,
    whether the catalog keeps it in memory, and whether it exists, asked of the project's own
    catalog (factory patterns resolved) in a fresh process."""
    done = subprocess.run(
        [sys.executable, __file__, "--outputs-of", str(project)],
        cwd=project, env=environment, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"listing the catalog's outputs failed:\n{done.stderr[-4000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith(OUTPUTS_LINE))
    return json.loads(line.removeprefix(OUTPUTS_LINE))


def list_outputs(project: Path) -> None:
    """Prints ``{output: {"dataset", "in_memory", "exists"}}`` as JSON (in a fresh process:
    the project's settings and pipelines are read once per process)."""
    from kedro.framework.project import pipelines  # noqa: PLC0415 - after bootstrap only
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415
    from kedro.io import MemoryDataset  # noqa: PLC0415

    bootstrap_project(project)
    with KedroSession.create(project, env=ENV) as session:
        catalog = session.load_context().catalog
        outputs = {}
        for name in sorted(pipelines["__default__"].all_outputs()):
            dataset = catalog.get(name)
            in_memory = dataset is None or isinstance(dataset, MemoryDataset)
            outputs[name] = {
                "dataset": repr(dataset) if dataset is not None else "MemoryDataset (default)",
                "in_memory": in_memory,
                "exists": not in_memory and dataset.exists(),
            }
    print(OUTPUTS_LINE + json.dumps(outputs), flush=True)


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work folder")
    parser.add_argument("--products", type=int, default=200, help="labelled products")
    parser.add_argument("--test", type=int, default=20, help="test products")
    parser.add_argument("--image-size", type=int, default=500, help="photo side (real: 500)")
    parser.add_argument(
        "--threads", default="auto", help="torch threads of the run: N, 0 (torch's), or auto"
    )
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR / "rehearsal.json")
    parser.add_argument("--outputs-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.outputs_of:
        list_outputs(args.outputs_of)
        return {}
    common.start("rehearsal")
    work = prepare_work_folder(args.work.resolve())
    t0 = time.perf_counter()
    params = OmegaConfigLoader(str(common.PROJECT / "conf"), env=ENV, **CONFIG_LOADER_ARGS)[
        "parameters"
    ]
    print("1/4 data: generated products, one truncated photo per subset", flush=True)
    data = make_raw_data(work / "raw", args.products, args.test, args.image_size)
    print("2/4 stand-in weights: camembert-base-shaped encoder + tokenizer, ResNets", flush=True)
    encoder = save_stand_in_encoder(
        work / "weights" / "camembert-base",
        texts_of(work / "raw"),
        int(params["text_transformer"]["model"]["max_length"]),
    )
    resnets = save_stand_in_resnets(work / "weights" / "torch", imagenet_models(params))
    prepare_s = time.perf_counter() - t0

    print("3/4 kedro run --env rakuten", flush=True)
    project = scratch_project(work / "project")
    run_params = write_run_config(
        work / "run_config.yml", Path(data["folder"]), Path(encoder["folder"])
    )
    threads = common.torch_threads_for_load(args.threads)
    environment = kedro_environment(TORCH_HOME=str(work / "weights" / "torch"), COLUMNS=LOG_COLUMNS)
    if threads:
        environment["OMP_NUM_THREADS"] = str(threads)
    run = run_kedro(project, work / "run_config.yml", environment, work / "kedro_run.log")
    if run["exit_code"] != 0:
        raise SystemExit(f"kedro run --env rakuten failed (exit {run['exit_code']}): see above")

    print("4/4 every output the catalog says lives in a file", flush=True)
    outputs = file_outputs(project, environment)
    in_memory = sorted(name for name, out in outputs.items() if out["in_memory"])
    missing = sorted(
        name for name, out in outputs.items() if not out["in_memory"] and not out["exists"]
    )
    rows = [
        common.row("stand-in weights + data", prepare_s, "s"),
        common.row("kedro run --env rakuten", run["seconds"], "s"),
        common.row("peak RSS of the run", run["peak_rss_mb"], "MiB",
                   note="ru_maxrss of the run's largest process"),
        common.row("outputs in files", len(outputs) - len(in_memory), "datasets"),
        common.row("outputs missing", len(missing), "datasets"),
    ]  # fmt: skip
    result = common.finish(
        rows,
        path=args.out,
        run=run,
        torch_threads=threads or "torch's default",
        data=data,
        stand_in_encoder=encoder,
        stand_in_resnets=resnets,
        run_params=run_params,
        slowest_nodes=slowest_nodes(work / "kedro_run.log"),
        missing_outputs=missing,
        in_memory_outputs=in_memory,
        outputs=outputs,
        project=str(project),
    )
    print("\n".join(summary(result)), flush=True)
    if missing:
        raise SystemExit(f"{len(missing)} output(s) missing: {', '.join(missing)}")
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """The closing lines on the console."""
    run = result["run"]
    lines = [
        "",
        f"Rehearsal of `kedro run --env {ENV}`: "
        + ("every file output written" if not result["missing_outputs"] else "OUTPUTS MISSING"),
        f"  run {run['seconds'] / 60:.1f} min, peak RSS {run['peak_rss_mb']:,.0f} MiB",
        f"  {len(result['outputs']) - len(result['in_memory_outputs'])} outputs in files, "
        f"{len(result['in_memory_outputs'])} kept in memory, "
        f"{len(result['missing_outputs'])} missing",
        f"  project: {result['project']}",
    ]
    lines += [f"  missing: {name}" for name in result["missing_outputs"]]
    lines += ["  slowest nodes:", *(f"    {line}" for line in result["slowest_nodes"])]
    return lines


if __name__ == "__main__":
    main()
