"""Record transformers' warm-up-stable-decay multipliers: wsd_transformers.json.

transformers imports torch, too heavy for the test extra; its WSD multiplier is plain Python over ``math``. This
script reads ``_get_wsd_scheduler_lambda`` from a downloaded transformers wheel, runs that function alone (no
torch), and records its value at every step of a few schedules. ``LambdaLR`` multiplies the optimizer's rate by it
before update ``t`` (0-based), the counter schedbench's ``t`` is. To record again:

    pip download transformers==5.23.0 --no-deps -d /tmp/tf-wheel
    python tests/reference/record_wsd_reference.py /tmp/tf-wheel/transformers-5.23.0-py3-none-any.whl
"""

from __future__ import annotations

import ast
import json
import math
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "wsd_transformers.json"
FUNCTION = "_get_wsd_scheduler_lambda"

# (total steps N, warm-up W, decay steps D, min_lr_ratio r); every shape is recorded for each.
CASES = [(100, 0, 20, 0.0), (100, 10, 20, 0.0), (100, 10, 20, 0.1), (97, 7, 29, 0.25), (50, 5, 45, 0.0),
         (40, 0, 40, 0.05), (12, 3, 1, 0.0)]
SHAPES = ["linear", "cosine", "1-sqrt"]


def wsd_lambda(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("transformers/optimization.py").decode("utf-8")
    tree = ast.parse(source)
    (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == FUNCTION]
    namespace = {"math": math}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(wheel), "exec"), namespace)
    return namespace[FUNCTION]


def main(wheel: Path):
    function = wsd_lambda(wheel)
    records = []
    for total, warmup, decay, ratio in CASES:
        for shape in SHAPES:
            steps = range(total + 3)  # past the end too: the final rate holds
            multipliers = [function(t, num_warmup_steps=warmup, num_stable_steps=total - warmup - decay,
                                    num_decay_steps=decay, warmup_type="linear", decay_type=shape,
                                    min_lr_ratio=ratio, num_cycles=0.5) for t in steps]
            records.append({"total_steps": total, "warmup_steps": warmup, "decay_steps": decay, "min_lr_ratio": ratio,
                            "decay_type": shape, "multipliers": multipliers})
    document = {"library": "transformers", "version": wheel.name.split("-")[1],
                "function": f"transformers.optimization.{FUNCTION}", "cases": records}
    OUT.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
