#!/usr/bin/env python3
"""Run the medmtl vs. PyTorch CPU speed comparison and print a Markdown table.

For every model x mode, medmtl and PyTorch are measured alternately for
--rounds rounds (order A B, B A, A B, ... so slow drift of the machine hits
both sides alike), each measurement in a fresh process with the same
threads / batch / steps / warm-up. Every process prints one JSON line:

  {"framework": ..., "version": ..., "model": ..., "mode": ..., "batch": ...,
   "threads": ..., "steps": ..., "images_per_sec": ..., "peak_rss_mib": ...}

The raw lines go to --out (JSON Lines); the table shows the median images/s
over rounds and the largest peak RSS seen.

Python 3 standard library only. See README.md in this folder.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TORCH_PEER = HERE / "torch_peer.py"
README = HERE / "README.md"
DEFAULT_VENV = Path(os.environ.get("MEDMTL_PEERS_VENV",
                                   Path.home() / ".cache" / "medmtl-peers-venv"))
MODELS = ("small-cnn", "resnet18", "unet")
MODES = ("train", "train-per-task", "infer")
REQUIRED_KEYS = ("framework", "model", "mode", "images_per_sec", "peak_rss_mib")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def default_medmtl():
    target = os.environ.get("CARGO_TARGET_DIR")
    candidates = []
    if target:
        candidates.append(Path(target) / "release" / "medmtl")
    candidates.append(REPO / "target" / "release" / "medmtl")
    for c in candidates:
        if c.is_file():
            return c
    return candidates[0]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", choices=MODELS, default=["small-cnn", "resnet18"])
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=None,
                   help="batch for every mode (default: 128 for train modes, 256 for infer)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--medmtl", type=Path, default=None,
                   help="medmtl binary (default: $CARGO_TARGET_DIR/release/medmtl, "
                        "else target/release/medmtl)")
    p.add_argument("--python", type=Path, default=DEFAULT_VENV / "bin" / "python",
                   help="python with torch installed (default: %(default)s; "
                        "or set MEDMTL_PEERS_VENV)")
    p.add_argument("--out", type=Path, default=Path("/tmp/peers.jsonl"),
                   help="raw JSON lines (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds allowed for one measurement process (default: %(default)s)")
    p.add_argument("--only", choices=("medmtl", "pytorch"), default=None,
                   help="run one side only")
    p.add_argument("--before", action="store_true",
                   help="also time medmtl with candle's own ops instead of its fused CPU kernels "
                        "(`medmtl speed --candle-ops`), the 'before' column")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    a = p.parse_args(argv)
    if a.medmtl is None:
        a.medmtl = default_medmtl()
    if a.rounds < 1 or a.threads < 1 or a.steps < 1 or a.warmup < 0:
        p.error("--rounds, --threads and --steps must be >= 1, --warmup >= 0")
    return a


def batch_for(args, mode):
    if args.batch is not None:
        return args.batch
    return 256 if mode == "infer" else 128


def check_torch(python):
    """None if `python` can import torch, else a message saying how to install it."""
    hint = (f"PyTorch side skipped: {{why}}.\n"
            f"  Install it with:  bash {HERE.relative_to(REPO)}/install_torch_venv.sh\n"
            f"  (a venv at {DEFAULT_VENV}, ~4 GB; see {README.relative_to(REPO)}),\n"
            f"  or pass --python PATH to a python that has torch.")
    if not Path(python).exists():
        return hint.format(why=f"no python at {python}")
    try:
        r = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return hint.format(why=f"{python} failed to start ({e})")
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return hint.format(why=f"`import torch` fails with {python} ({last})")
    log(f"PyTorch: {python} (torch {r.stdout.strip()})")
    return None


def check_medmtl(path):
    if Path(path).is_file() and os.access(path, os.X_OK):
        log(f"medmtl: {path}")
        return None
    return (f"medmtl side skipped: no binary at {path}.\n"
            f"  Build it with:  cargo build --release --bin medmtl\n"
            f"  (or pass --medmtl PATH).")


def command(side, args, model, mode):
    batch = batch_for(args, mode)
    common = ["--model", model, "--mode", mode, "--batch", str(batch),
              "--steps", str(args.steps), "--warmup", str(args.warmup),
              "--threads", str(args.threads)]
    env = dict(os.environ)
    if side == "candle":
        env["RAYON_NUM_THREADS"] = str(args.threads)
        return [str(args.medmtl), "speed"] + common + ["--candle-ops"], env
    if side == "medmtl":
        # candle sizes its own rayon pool and gemm parallelism from
        # RAYON_NUM_THREADS (candle_core::utils::get_num_threads), not from the
        # global rayon pool, so pin it here too.
        env["RAYON_NUM_THREADS"] = str(args.threads)
        return [str(args.medmtl), "speed"] + common, env
    env["OMP_NUM_THREADS"] = str(args.threads)
    env["MKL_NUM_THREADS"] = str(args.threads)
    return [str(args.python), str(TORCH_PEER)] + common, env


def measure(side, args, model, mode):
    """Runs one measurement process; returns (parsed dict or None, raw line or None)."""
    cmd, env = command(side, args, model, mode)
    log(f"  $ {shlex.join(cmd)}")
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=args.timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        log(f"    !! timed out after {args.timeout:.0f}s")
        return None, None
    except OSError as e:
        log(f"    !! could not start: {e}")
        return None, None
    wall = time.monotonic() - t0
    if r.returncode != 0:
        tail = "\n".join(r.stderr.strip().splitlines()[-15:])
        log(f"    !! exit code {r.returncode}\n{tail}")
        return None, None
    for line in reversed(r.stdout.strip().splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        missing = [k for k in REQUIRED_KEYS if k not in rec]
        if missing:
            log(f"    !! JSON line lacks {missing}: {line}")
            return None, None
        log(f"    {rec['images_per_sec']:.1f} img/s, peak {rec['peak_rss_mib']:.0f} MiB "
            f"({wall:.1f}s wall)")
        for warning in (l for l in r.stderr.splitlines() if "WARNING" in l):
            log(f"    !! {warning.strip()}")
        return rec, line
    log(f"    !! no JSON line on stdout; stdout was:\n{r.stdout[-2000:]}")
    return None, None


def fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def main(argv=None):
    args = parse_args(argv)
    sides = ["medmtl", "pytorch"] if args.only is None else [args.only]
    if args.before and "medmtl" in sides:
        sides.insert(0, "candle")

    skipped = {}
    if "pytorch" in sides:
        msg = check_torch(args.python)
        if msg:
            skipped["pytorch"] = msg
    if "medmtl" in sides:
        msg = check_medmtl(args.medmtl)
        if msg:
            skipped["medmtl"] = msg
            skipped["candle"] = msg
    for msg in skipped.values():
        log(msg)
    active = [s for s in sides if s not in skipped]

    if args.dry_run:
        for model in args.models:
            for mode in args.modes:
                for side in sides:
                    cmd, env = command(side, args, model, mode)
                    pre = ("RAYON_NUM_THREADS=" + env["RAYON_NUM_THREADS"] + " "
                           if side in ("medmtl", "candle") else "")
                    print(pre + shlex.join(cmd))
        return 0
    if not active:
        log("nothing to run.")
        return 2

    results = {}  # (model, mode, side) -> list of records
    failures = 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as out:
        for model in args.models:
            for mode in args.modes:
                for rnd in range(args.rounds):
                    order = active if rnd % 2 == 0 else list(reversed(active))
                    log(f"[{model} / {mode}] round {rnd + 1}/{args.rounds}")
                    for side in order:
                        rec, line = measure(side, args, model, mode)
                        if rec is None:
                            failures += 1
                            continue
                        out.write(line + "\n")
                        out.flush()
                        results.setdefault((model, mode, side), []).append(rec)

    def median_ips(model, mode, side):
        recs = results.get((model, mode, side))
        return statistics.median(r["images_per_sec"] for r in recs) if recs else None

    def peak(model, mode, side):
        recs = results.get((model, mode, side))
        return max(r["peak_rss_mib"] for r in recs) if recs else None

    versions = {}
    for (_, _, side), recs in results.items():
        versions.setdefault(side, recs[0].get("version", "?"))

    print()
    print(f"threads {args.threads}, steps {args.steps} (warm-up {args.warmup}), "
          f"{args.rounds} round(s); batch "
          + (str(args.batch) if args.batch else "128 train / 256 infer")
          + "; " + ", ".join(f"{s} {v}" for s, v in sorted(versions.items())))
    print()
    before = "candle" in active
    head = "| model | mode | batch |"
    rule = "|---|---|---:|"
    if before:
        head += " before (candle ops) img/s | before/PyTorch |"
        rule += "---:|---:|"
    print(head + " medmtl img/s | PyTorch img/s | medmtl/PyTorch | medmtl peak MiB | PyTorch peak MiB |")
    print(rule + "---:|---:|---:|---:|---:|")
    for model in args.models:
        for mode in args.modes:
            m = median_ips(model, mode, "medmtl")
            t = median_ips(model, mode, "pytorch")
            c = median_ips(model, mode, "candle")
            ratio = f"{m / t:.2f}x" if m is not None and t else "—"
            row = f"| {model} | {mode} | {batch_for(args, mode)} |"
            if before:
                row += f" {fmt(c)} | {f'{c / t:.2f}x' if c is not None and t else '—'} |"
            print(row + f" {fmt(m)} | {fmt(t)} | {ratio} "
                  f"| {fmt(peak(model, mode, 'medmtl'), 0)} "
                  f"| {fmt(peak(model, mode, 'pytorch'), 0)} |")
    print()
    print("img/s: median over rounds; peak MiB: largest ru_maxrss over rounds "
          "(PyTorch's includes the 550-710 MiB that `import torch` of the CUDA wheel maps in).")
    log(f"raw JSON lines: {args.out}")
    for msg in skipped.values():
        log(msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
