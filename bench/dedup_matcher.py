"""Benchmark of the built-in open matcher (services/dedup/matcher) on synthetic biometrics.

    .venv/bin/python bench/dedup_matcher.py [--sizes 10000,100000,1000000] [--enrolled 20000]
        [--genuine 2000] [--impostors 20000] [--probes 200] [--target-fpir 40] [--skip-accuracy]

(a) accuracy: FNIR at the targetFPIR threshold on a synthetic population, with text histograms
    of the genuine (mate) and impostor (best non-mate) fused scores;
(b) speed: identifies/s and p50/p99 latency per gallery size, beside the brute-force limit
    (the same exact comparisons in one plain NumPy pass without first-pass pruning), and
    memory per enrolled person.  Galleries are built from arrays in bulk, not from base64.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ektp.synth.biometrics import capture_arrays, new_person, random_capture_arrays  # noqa: E402
from services.dedup.matcher import Gallery, TemplateBatch, thresholds_for_fpir  # noqa: E402
from services.dedup.matcher.templates import MIN_USABLE_FINGERS  # noqa: E402

CHUNK = 50_000
BINS = [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 100, 1000]


def row(batch: TemplateBatch, i: int) -> TemplateBatch:
    return TemplateBatch(*(getattr(batch, f)[i : i + 1] for f in TemplateBatch.__dataclass_fields__))


def usable(batch: TemplateBatch) -> np.ndarray:
    return (batch.finger_ok.sum(-1) >= MIN_USABLE_FINGERS) & batch.iris_ok.any(-1)


def build(size: int, mates: int, rng: np.random.Generator):
    """Gallery of `size`: `mates` persons with latents (kept for genuine probes) + strangers."""
    g = Gallery()
    g.reserve(size)
    people = [new_person(rng) for _ in range(mates)]
    g.add_batch([f"m{i}" for i in range(mates)], TemplateBatch.from_arrays(**capture_arrays(people, rng)))
    done = mates
    while done < size:
        k = min(CHUNK, size - done)
        g.add_batch([f"s{done + i}" for i in range(k)], TemplateBatch.from_arrays(**random_capture_arrays(k, rng)))
        done += k
    return g, people


def histogram(name: str, values: np.ndarray, width: int = 50) -> None:
    counts, _ = np.histogram(np.clip(values, 0, BINS[-1] - 1), bins=BINS)
    top = max(counts.max(), 1)
    print(f"  {name} (n={len(values)})")
    for lo, hi, c in zip(BINS[:-1], BINS[1:], counts):
        print(f"    {lo:>4}-{hi:<4} {c:>7} {'#' * int(round(width * c / top))}")


def accuracy(args, rng) -> None:
    t0 = time.perf_counter()
    g, people = build(args.enrolled, args.genuine, rng)
    th = thresholds_for_fpir(args.target_fpir, gallery_size=len(g))
    print(f"\n(a) accuracy: {len(g):,} enrolled, built in {time.perf_counter() - t0:.1f}s; "
          f"targetFPIR {args.target_fpir} -> FPIR {10 ** (-args.target_fpir / 10):.0e}, "
          f"auto threshold {th.auto:.2f}, grey {th.grey:.2f}")  # fmt: skip
    gen = TemplateBatch.from_arrays(**capture_arrays(people, rng))
    imp = TemplateBatch.from_arrays(**random_capture_arrays(args.impostors, rng))
    mate, nonmate, miss_rank = [], [], 0
    ok_gen = usable(gen)
    t0 = time.perf_counter()
    for i in np.flatnonzero(ok_gen):
        cands = g.identify(row(gen, int(i)), max_results=2)
        hit = [c.fused for c in cands if c.ref_id == f"m{i}"]
        mate.append(hit[0] if hit else 0.0)
        miss_rank += not hit
    ok_imp = usable(imp)
    for i in np.flatnonzero(ok_imp):
        nonmate.append(g.identify(row(imp, int(i)), max_results=1)[0].fused)
    dt = time.perf_counter() - t0
    mate, nonmate = np.array(mate), np.array(nonmate)
    fnir = np.mean(mate < th.auto)
    fpir = np.mean(nonmate >= th.auto)
    print(f"  {len(mate) + len(nonmate):,} searches in {dt:.1f}s; probes unusable (enroll failure): "
          f"genuine {np.sum(~ok_gen)}, impostor {np.sum(~ok_imp)}")  # fmt: skip
    print(f"  FNIR {fnir:.4%} ({np.sum(mate < th.auto)}/{len(mate)}; mate not in shortlist: {miss_rank})"
          f"  at FPIR {fpir:.4%} ({np.sum(nonmate >= th.auto)}/{len(nonmate)})")  # fmt: skip
    grey = np.mean((nonmate >= th.grey) & (nonmate < th.auto))
    print(f"  impostor searches in the grey zone (adjudication): {grey:.3%}; "
          f"genuine in grey zone: {np.mean((mate >= th.grey) & (mate < th.auto)):.3%}")  # fmt: skip
    print(f"  genuine fused: min {mate.min():.1f} p1 {np.percentile(mate, 1):.1f} median {np.median(mate):.1f}; "
          f"impostor best: median {np.median(nonmate):.2f} max {nonmate.max():.2f}")  # fmt: skip
    histogram("genuine (mate) fused score", mate)
    histogram("impostor (best candidate) fused score", nonmate)


def speed(size: int, args, rng) -> None:
    t0 = time.perf_counter()
    mates = min(args.probes, size)
    g, people = build(size, mates, rng)
    build_s = time.perf_counter() - t0
    gen = TemplateBatch.from_arrays(**capture_arrays(people[: args.probes // 2], rng))
    imp = TemplateBatch.from_arrays(**random_capture_arrays(args.probes - len(gen), rng))
    probes = [row(gen, i) for i in range(len(gen))] + [row(imp, i) for i in range(len(imp))]
    for p in probes[:3]:
        g.identify(p)  # warm up (thread pool, caches)
    lat = []
    t0 = time.perf_counter()
    for p in probes:
        s = time.perf_counter()
        g.identify(p)
        lat.append(time.perf_counter() - s)
    total = time.perf_counter() - t0
    lat = np.array(lat) * 1e3
    n_bf = max(2, min(20, 2_000_000 // size))
    s = time.perf_counter()
    for p in probes[:n_bf]:
        g.identify_exhaustive(p)
    bf = (time.perf_counter() - s) / n_bf
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {size:>9,} | {len(probes) / total:>9.1f} | {np.percentile(lat, 50):>7.2f} | {np.percentile(lat, 99):>7.2f} |"
          f" {1 / bf:>9.2f} ({n_bf} probes) | {g.nbytes / len(g):>8.0f} | {g.nbytes / 2**30:>6.2f} |"
          f" {rss / 1024:>6.2f} | {build_s:>6.1f}")  # fmt: skip
    g.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--enrolled", type=int, default=20_000)
    ap.add_argument("--genuine", type=int, default=2_000)
    ap.add_argument("--impostors", type=int, default=20_000)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--target-fpir", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"numpy {np.__version__}; shortlist {Gallery().shortlist}; workers {Gallery().workers}")
    if not args.skip_accuracy:
        accuracy(args, rng)
    print("\n(b) speed (half genuine, half impostor probes; brute force = identify_exhaustive)")
    print("       size | ident/s   | p50 ms  | p99 ms  | brute-force/s         | B/person | GiB    | maxRSS GiB | build s")
    for size in (int(s) for s in args.sizes.split(",")):
        speed(size, args, rng)


if __name__ == "__main__":
    main()
