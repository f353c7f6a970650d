"""The NLU training data as files: its labels, its examples, and the learned examples.

Read by the desk (the labels staff choose from in the learning inbox) and
written by the inbox's export (``python -m bot.records.learning export``);
Rasa never loads this module.

- A *label* is the name of an ``intent:`` block in ``data/nlu``: an intent,
  ``faq/<key>`` or ``out_of_scope/<topic>``.
- Examples are compared by :func:`example_key`: entity annotations taken out,
  the pipeline's own normalisation (:func:`bot.nlu.normalize.normalize_text`),
  spaces and punctuation removed, lower case, which is how
  ``tests/nlu/test_heldout.py`` compares them too. A filler or a full-width
  digit does not make a copy new.
- :func:`export` writes ``data/nlu/learned.yml`` in Rasa's NLU YAML format
  (``version: "3.1"``, one block per label, retrieval labels as their own
  blocks like ``data/nlu/faq.yml``). The file is made again from the records
  at every export (relabel on the desk, not in the file). An example is left
  out, with its row named in the report, when it is already in the training
  data (in any other file), when two rows give one text different labels,
  when its label is no longer in the data, when it still holds a number of
  seven or more digits, or when it is an utterance of an evaluation set
  (``tests/nlu/heldout.yml``, ``team_set.yml``, ``fresh.yml``, ``kb_heldout.yml``): evaluation data is
  never trained on. The report names such rows, never their text.
"""
from __future__ import annotations

import functools
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.normalize import normalize_text
from bot.records.identifiers import has_unmasked_number
from bot.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
LEARNED_FILE = "learned.yml"
HELD_OUT_SETS = (
    PROJECT_ROOT / "tests" / "nlu" / "heldout.yml",
    PROJECT_ROOT / "tests" / "nlu" / "team_set.yml",
    PROJECT_ROOT / "tests" / "nlu" / "fresh.yml",
    PROJECT_ROOT / "tests" / "nlu" / "kb_heldout.yml",
)
HEADER = """version: "3.1"

# Examples the assistant missed, labelled by staff in the desk's learning inbox
# (待学习). Written by `python -m bot.records.learning export`; the records are
# the source: relabel on the desk and export again rather than editing here.
"""
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")
_IGNORED = re.compile(r"[\s，。！？、,.!?~～…]+")


class TrainingDataError(RuntimeError):
    """A training-data or evaluation file is missing or malformed; the message names it."""


@dataclass(frozen=True)
class LabelledText:
    """A labelled miss from the records: its row id, its label, its (masked) text."""

    row_id: int
    label: str
    text: str


@dataclass
class ExportReport:
    """What an export wrote, and which rows it left out and why."""

    path: Path
    written: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # row, reason, detail
    dropped: int = 0  # examples of the previous file that are not in the new one

    @property
    def count(self) -> int:
        return sum(len(texts) for texts in self.written.values())

    def summary(self) -> str:
        lines = [f"wrote {self.count} examples of {len(self.written)} labels to {self.path}"]
        if self.dropped:
            lines.append(f"{self.dropped} examples of the previous file are no longer labelled")
        lines.extend(f"  row {row}: left out, {reason} ({detail})"
                     for row, reason, detail in self.skipped)
        return "\n".join(lines)


def example_key(text: str) -> str:
    """How two examples are compared: same key, same example."""
    plain = _ANNOTATION.sub(lambda match: match.group(1) or match.group(2), text or "")
    return _IGNORED.sub("", normalize_text(plain)).lower()


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TrainingDataError(f"{path}: file not found") from exc
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TrainingDataError(f"{path}: not readable YAML ({type(exc).__name__})") from exc


@functools.lru_cache(maxsize=64)
def _blocks(path: Path, _mtime_ns: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    document = _load_yaml(path) or {}
    if not isinstance(document, dict):
        raise TrainingDataError(f"{path}: expected a mapping with an 'nlu' list")
    blocks = []
    for block in document.get("nlu") or []:
        if isinstance(block, dict) and isinstance(block.get("intent"), str):
            examples = tuple(
                line.strip()[2:] for line in str(block.get("examples") or "").splitlines()
                if line.strip().startswith("- ")
            )
            blocks.append((block["intent"], examples))
    return tuple(blocks)


def _files(data_dir: Path, leave_out: Path | None = None) -> list[Path]:
    skip = leave_out.resolve() if leave_out is not None else None
    return [path for path in sorted(data_dir.rglob("*.yml")) if path.resolve() != skip]


def _read(path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return _blocks(path.resolve(), path.stat().st_mtime_ns)


def known_labels(data_dir: Path = NLU_DIR) -> list[str]:
    """Every label of the NLU training data, sorted (read again when a file changes)."""
    return sorted({label for path in _files(data_dir) for label, _ in _read(path)})


def training_examples(data_dir: Path, leave_out: Path | None = None) -> dict[str, str]:
    """Example key -> label, over every file of ``data_dir`` but ``leave_out``."""
    return {example_key(text): label for path in _files(data_dir, leave_out)
            for label, examples in _read(path) for text in examples}


def held_out_keys(paths: Iterable[Path]) -> dict[str, str]:
    """Example key -> the evaluation set (file name) it belongs to."""
    keys: dict[str, str] = {}
    for path in paths:
        document = _load_yaml(path)
        examples = document.get("examples") if isinstance(document, dict) else None
        if not isinstance(examples, list):
            raise TrainingDataError(f"{path}: expected a mapping with an 'examples' list")
        for item in examples:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                keys.setdefault(example_key(item["text"]), path.name)
    return keys


def example_line(text: str) -> str:
    """The text as one example line: one line, no ``[`` ``]`` that Rasa would read as an entity."""
    return " ".join(text.replace("[", "［").replace("]", "］").split())


def plan_export(
    rows: Sequence[LabelledText],
    *,
    existing: dict[str, str],
    held_out: dict[str, str],
    labels: Iterable[str],
) -> tuple[dict[str, list[str]], list[tuple[int, str, str]]]:
    """Which rows become examples (label -> texts) and which are left out, with why."""
    known = set(labels)
    skipped: list[tuple[int, str, str]] = []
    by_key: dict[str, list[LabelledText]] = defaultdict(list)
    for row in rows:
        line = example_line(row.text)
        key = example_key(line)
        if key in held_out:
            skipped.append((row.row_id, "in an evaluation set", held_out[key]))
        elif not key:
            skipped.append((row.row_id, "empty", "nothing left to learn"))
        elif row.label not in known:
            skipped.append((row.row_id, "label not in the training data", row.label))
        elif has_unmasked_number(line):
            skipped.append((row.row_id, "holds an unmasked number", "mask it first"))
        elif key in existing:
            same = existing[key] == row.label
            skipped.append((row.row_id, "already in the training data" if same else
                            "the training data labels it differently", existing[key]))
        else:
            by_key[key].append(LabelledText(row.row_id, row.label, line))
    written: dict[str, list[str]] = defaultdict(list)
    for key, group in by_key.items():
        labels_given = {row.label for row in group}
        if len(labels_given) > 1:
            rows_named = ", ".join(str(row.row_id) for row in group)
            skipped.extend((row.row_id, "rows disagree on its label", f"rows {rows_named}")
                           for row in group)
            continue
        first, *copies = group
        written[first.label].append(first.text)
        skipped.extend((row.row_id, "same text as another row", f"row {first.row_id}")
                       for row in copies)
    skipped.sort()
    return {label: written[label] for label in sorted(written)}, skipped


def render(written: dict[str, list[str]], header: str = HEADER) -> str:
    """The file's text: Rasa NLU YAML, one block per label, below ``header``."""
    if not written:
        return header + "\nnlu: []\n"
    parts = [header, "\nnlu:\n"]
    for label, texts in written.items():
        parts.append(f"- intent: {label}\n  examples: |\n")
        parts.extend(f"    - {text}\n" for text in texts)
    return "".join(parts)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a reader sees the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export(
    rows: Sequence[LabelledText],
    out: Path,
    *,
    data_dir: Path = NLU_DIR,
    held_out: Iterable[Path] = HELD_OUT_SETS,
) -> ExportReport:
    """Write ``out`` from the labelled rows; see the module docstring for what is left out.

    Raises :class:`TrainingDataError` (and writes nothing) when the training
    data or an evaluation set cannot be read.
    """
    previous = set()
    if out.is_file():
        previous = {example_key(text) for _, texts in _read(out) for text in texts}
    written, skipped = plan_export(
        rows,
        existing=training_examples(data_dir, leave_out=out),
        held_out=held_out_keys(held_out),
        labels=known_labels(data_dir),
    )
    write_atomically(out, render(written))
    now = {example_key(text) for texts in written.values() for text in texts}
    return ExportReport(path=out, written=written, skipped=skipped,
                        dropped=len(previous - now))
