"""A realistic, made-up product catalogue for demos and benchmarks (not real products).

`python -m tracecode_validator.demo_catalogue --count 2000 > catalogue.json` writes rows in
the shape `POST /v1/admin/catalogue/products` takes: valid 23-character 医保 codes, 69
GTINs and 本位码 with correct check digits, unique 7-digit 药品标识码 per packaging level.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from typing import Any

from tracecode_validator.domain.checkdigits import gs1_check_digit

GENERICS = (
    ("阿莫西林", "XJ01CAA"),
    ("头孢克肟", "XJ01DDA"),
    ("布洛芬", "XM01AEB"),
    ("对乙酰氨基酚", "XN02BEA"),
    ("二甲双胍", "XA10BAA"),
    ("氨氯地平", "XC08CAA"),
    ("阿托伐他汀", "XC10AAA"),
    ("奥美拉唑", "XA02BCA"),
    ("蒙脱石", "XA07BCA"),
    ("氯雷他定", "XR06AXA"),
    ("硝苯地平", "XC08CAB"),
    ("缬沙坦", "XC09CAA"),
    ("连花清瘟", "ZA01AAB"),
    ("六味地黄", "ZA12AAC"),
    ("板蓝根", "ZA01AAD"),
)
FORMS = (("胶囊", 24), ("片", 12), ("缓释片", 30), ("颗粒", 10), ("分散片", 36), ("丸", 120))
STRENGTHS = ("0.1g", "0.25g", "0.5g", "5mg", "10mg", "20mg", "40mg", "3g")


def _with_check(payload: str) -> str:
    return payload + str(gs1_check_digit(payload))


def generate(count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """`count` products; the same seed gives the same catalogue."""
    rng = random.Random(seed)
    prefixes = rng.sample(range(100_000, 999_999), count * 3)
    rows = []
    for n in range(count):
        generic, atc = GENERICS[n % len(GENERICS)]
        form, units = FORMS[rng.randrange(len(FORMS))]
        tail = "".join(rng.choices(string.digits, k=23 - len(atc) - 4)) + f"{n % 10000:04d}"
        box, middle, case = (f"8{p}" for p in prefixes[3 * n : 3 * n + 3])
        levels = [{"prefix": box, "pack_level": "box"}]
        if rng.random() < 0.3:
            levels += [
                {"prefix": middle, "pack_level": "middle"},
                {"prefix": case, "pack_level": "case"},
            ]
        rows.append(
            {
                "med_list_codg": atc + tail,
                "name": f"{generic}{form} {STRENGTHS[rng.randrange(len(STRENGTHS))]}×{units}",
                "gtins": [_with_check(f"692{n:09d}")],
                "drug_std_codes": [_with_check(f"8690{n:09d}")],
                "trace_prefixes": levels,
                "units_per_pack": units,
                "split_allowed": rng.random() < 0.4,
                "rx_flag": atc.startswith("X") and rng.random() < 0.7,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print a generated catalogue as a JSON array."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    json.dump(generate(args.count, seed=args.seed), sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
