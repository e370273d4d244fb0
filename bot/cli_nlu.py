"""``hotline nlu train | parse | evaluate``: the Vietnamese understanding from the command line.

Registered by the root group with ``cli.add_command(nlu_group)``. Training and parsing are CPU work with no
event loop involved, so nothing here needs ``asyncio``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from nlu.api import (
    DEFAULT_MODEL_PATH,
    DEFAULT_TRAINING_FILE,
    LOW_CONFIDENCE,
    NluEngine,
    default_engine,
    evaluate,
)
from nlu.model import ModelFormatError
from nlu.normalize import fold
from nlu.trainingdata import TrainingDataError

_MODEL_OPTION = click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"saved model (default: {DEFAULT_MODEL_PATH}; trained from the shipped data if missing or stale)",
)


def _engine(model_path: Path | None) -> NluEngine:
    try:
        return default_engine(model_path)
    except (TrainingDataError, ModelFormatError) as exc:
        raise click.ClickException(str(exc)) from None


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


@click.group("nlu")
def nlu_group() -> None:
    """Intents and entities: train the classifier, parse a message, evaluate on a Rasa-format file."""


@nlu_group.command()
@click.option(
    "--data",
    "data_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_TRAINING_FILE,
    show_default=True,
    help="Rasa 3.x NLU training file",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_MODEL_PATH,
    show_default=True,
    help="where to save the model",
)
def train(data_path: Path, out_path: Path) -> None:
    """Train the intent classifier and save it (seconds, CPU only)."""
    try:
        engine = NluEngine.train(data_path)
    except TrainingDataError as exc:
        raise click.ClickException(str(exc)) from None
    engine.save(out_path)
    click.echo(f"trained {len(engine.intents)} intents from {data_path} in {engine.trained_seconds:.1f} s; "
               f"saved to {out_path}")  # fmt: skip


@nlu_group.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="print Rasa's /model/parse JSON shape")
@_MODEL_OPTION
def parse(text: str, as_json: bool, model_path: Path | None) -> None:
    """Parse one message: intent, confidence, ranking and entities."""
    result = _engine(model_path).parse(text)
    if as_json:
        click.echo(_dump(result.to_rasa()))
        return
    flag = "" if result.confidence >= LOW_CONFIDENCE else "  (low confidence: the bot would ask)"
    click.echo(f"intent: {result.intent}  {result.confidence:.3f}{flag}")
    click.echo("ranking: " + ", ".join(f"{name} {conf:.3f}" for name, conf in result.ranking[:5]))
    for e in result.entities:
        click.echo(f"  {e.entity:14s} {e.text!r} → {e.value!r}  [{e.start}:{e.end}]")


@nlu_group.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
@click.option("--fold-diacritics", is_flag=True, help="strip diacritics from every test message first")
@click.option("--errors", "show_errors", is_flag=True, help="also list every misclassified message")
@_MODEL_OPTION
def evaluate_cmd(file: Path, as_json: bool, fold_diacritics: bool, show_errors: bool, model_path: Path | None) -> None:
    """Accuracy, macro-F1, per-intent precision/recall/F1 and confusions on a Rasa-format FILE."""
    engine = _engine(model_path)
    try:
        report = evaluate(engine, file, transform=fold if fold_diacritics else None)
    except TrainingDataError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(_dump(report))
        return
    click.echo(f"{report['examples']} examples in {file}{' (diacritics folded)' if fold_diacritics else ''}")
    click.echo(f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
               f"below {LOW_CONFIDENCE} confidence {report['low_confidence_rate']:.1%}")  # fmt: skip
    click.echo(f"\n{'intent':20s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'n':>4s}")
    for name, row in report["per_intent"].items():
        click.echo(f"{name:20s} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:7.3f} {row['support']:4d}")
    if report["confusions"]:
        click.echo("\ntop confusions (gold → predicted):")
        for c in report["confusions"][:10]:
            click.echo(f"  {c['count']:3d}  {c['gold']} → {c['predicted']}")
    if show_errors:
        click.echo("\nerrors:")
        for err in report["errors"]:
            click.echo(f"  {err['gold']} → {err['predicted']} ({err['confidence']:.2f}): {err['text']}")
