"""Stamp each bundled zoo model's ``config.json`` with what its card says: licence, datasets, measured results.

A saved model must carry its licence, data set and results with it (``ganzoo.hub.cards.publication_metadata``),
so that any card rendered from the folder alone (``ganzoo push plugins/zoo/<name>``, a fine-tune of it) keeps the
data's licence notice. The source of truth is the packaged card (``model_cards/<name>.md``): its metadata block
(``license``, ``license_name``, ``license_link``, ``datasets``, ``model-index``), its "Licence of the data" line
and its Evaluation table (how each number was measured). Run from the repository root after a card changes::

    python -m model_cards.stamp_zoo_metadata            # rewrites plugins/zoo/*/config.json, prints their sha256

then pin the printed ``config_sha256`` values in ``plugins/zoo.py``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ganzoo.hub.cards import CardInfo, Metric, publication_metadata

REPO = Path(__file__).resolve().parents[1]
ZOO = (
    "dcgan-celeba",
    "cgan-fashion",
    "pix2pix-celeba-colorize",
    "cyclegan-fashion-sandal2sneaker",
    "srgan-celeba-x4",
    "inpaint-celeba-center",
)
ROW = re.compile(r"^\| (?P<name>[^|]+?) \| (?P<value>[^|]+?) \| (?P<how>.+) \|$")


def card_info_of(card_path: Path) -> CardInfo:
    """The licence, datasets, data notice and results of a packaged card, as a ``CardInfo``."""
    from huggingface_hub import ModelCard

    card = ModelCard.load(card_path)
    data = card.data
    body = card.text
    notice = ""
    for line in body.splitlines():
        if line.startswith("**Licence of the data:**"):
            notice = line.removeprefix("**Licence of the data:**").strip()
    evaluation = body.split("## Evaluation", 1)[-1].split("\n## ", 1)[0]
    how = {m["name"]: m["how"] for m in map(ROW.match, evaluation.splitlines()) if m}
    metrics = [
        Metric(
            name=r.metric_type,
            value=r.metric_value,
            how=how.get(r.metric_name or "", ""),
            dataset=r.dataset_type,
            dataset_name=r.dataset_name,
            label=r.metric_name or "",
        )
        for r in data.eval_results or []
    ]
    return CardInfo(
        datasets=list(data.datasets or []),
        license=data.license,
        license_name=data.get("license_name"),
        license_link=data.get("license_link"),
        data_license=notice,
        metrics=metrics,
    )


def stamp(name: str, repo: Path = REPO) -> str:
    """Write card ``name``'s publication metadata into its bundled config.json; returns the file's sha256."""
    from ganzoo.fileio import sha256_file, write_json

    path = repo / "plugins" / "zoo" / name / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    training = {k: v for k, v in config.get("training", {}).items() if k not in ("license", "datasets", "results")}
    training.update(publication_metadata(card_info_of(repo / "model_cards" / f"{name}.md")))
    config["training"] = training
    write_json(path, config)
    return sha256_file(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(ZOO))
    args = parser.parse_args(argv)
    for name in args.names:
        print(f'{name}: config_sha256="{stamp(name)}"')


if __name__ == "__main__":
    main()
