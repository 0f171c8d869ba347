"""A summary of the pipeline's metrics that a person reads in a terminal 100 columns wide."""

import json
import textwrap
from pathlib import Path

from digits import DigitsError

WIDTH = 100


def read(path: Path) -> dict:
    """The JSON metrics file at `path`."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DigitsError(f"cannot read {path} (run `dvc repro` or `dvc pull` first): {err}") from None


def noise_table(noise: dict) -> list[str]:
    """Rows of accuracy by noise kind and SNR, with the mean's spread over the draws at the lowest SNR."""
    kinds = [k for k, v in noise.items() if isinstance(v, dict) and k != "draw_std"]
    snrs = list(noise[kinds[0]]) if kinds else []
    lines = [f"  {'':15}" + "".join(f"{s.removeprefix('snr_').removesuffix('db') + ' dB':>9}" for s in snrs)]
    for kind in kinds:
        std = noise.get("draw_std", {}).get(kind, {}).get(snrs[-1])
        spread = f"   (± {std:.3f} over {noise['draws']} draws)" if std is not None else ""
        lines.append(f"  {kind:15}" + "".join(f"{noise[kind][s]:9.3f}" for s in snrs) + spread)
    return lines


def cross_corpus(crossval: dict) -> list[str]:
    """The line on the model trained on the training-only corpora alone, if crossval has one."""
    cross = crossval.get("cross_corpus")
    if not cross:
        return []
    return [
        f"  trained on {', '.join(cross['train'])} alone: accuracy {cross['accuracy']:.4f} on all {cross['clips']} "
        f"clips of {', '.join(cross['test'])}"
    ]


def corpus_lines(data: dict) -> list[str]:
    """One line per corpus: its use, files, speakers and splits."""
    lines = []
    for name, corpus in data.get("corpora", {"data": data}).items():
        use = "training only" if corpus.get("use") == "train" else "split"
        splits = ", ".join(f"{k} {v}" for k, v in corpus["splits"].items())
        lines.append(
            f"  {name} ({use}): {corpus['found']} files, {corpus['accepted']} accepted, {corpus['rejected']} "
            f"rejected; {corpus['speakers']} speakers; {splits}"
        )
    return lines


def open_set(openset: dict) -> list[str]:
    """Lines on the detector: its error rates on the open-set test, by kind, and the corpus clips it refuses."""
    test = openset["test"]
    kinds = "  ".join(f"{kind}={rate:.3f}" for kind, rate in openset["test_false_accept_rate_by_kind"].items())
    counts = openset["corpus_clips_refused"].items()
    refused = ", ".join(f"{name}={count.replace(' of ', '/')}" for name, count in counts)
    new = openset["new_voices"]
    return [
        f"  new voices (scored out of fold): {new['refused']} of {new['clips']} digits refused "
        f"({new['mean_refused']:.2%} a voice)",
        f"  open-set test: {test['false_refusals']} of {test['digits']} digits refused "
        f"({test['false_refusal_rate']:.2%}), {test['false_accepts']} of {test['non_digits']} non-digits accepted "
        f"({test['false_accept_rate']:.2%})",
        *textwrap.wrap(f"accepted, by kind: {kinds}", WIDTH, initial_indent="  ", subsequent_indent="  "),
        *textwrap.wrap(f"corpus clips refused: {refused}", WIDTH, initial_indent="  ", subsequent_indent="  "),
    ]


def whisper_open_set(metrics: Path) -> list[str]:
    """The Whisper detector's `open_set` lines, under their heading; none without `metrics/whisper/openset.json`."""
    path = metrics / "whisper" / "openset.json"
    if not path.is_file():
        return []
    return ["No digit heard, Whisper's detector (metrics/whisper/openset.json):", *open_set(read(path))]


def side_by_side(metrics: Path, crossval: dict, scores: dict) -> list[str]:
    """Columns zero-shot | Whisper | MFCC for voices never heard (each speaker, and their digit strings), the test
    split and the synthetic voices alone -> real ones; none without `metrics/whisper/`."""
    if not (metrics / "whisper").is_dir():
        return []
    loso, tested = read(metrics / "whisper" / "crossval.json"), read(metrics / "whisper" / "eval.json")

    def row(name: str, *values: float | None) -> str:
        return f"  {name:36}" + "".join(f"{'—' if v is None else f'{v:.4f}':>12}" for v in values)

    lines = [
        "Whisper tiny.en beside MFCC (metrics/whisper/): zero-shot (no training) | Whisper | MFCC",
        row(
            "voices never heard (mean of folds)",
            loso["mean_zero_shot"],
            loso["mean_accuracy"],
            crossval["mean_accuracy"],
        ),
    ]
    for speaker, fold in loso["folds"].items():
        mfcc = crossval["folds"].get(speaker, {}).get("accuracy")
        lines.append(row(f"  {speaker}", fold["zero_shot"], fold["accuracy"], mfcc))
    if loso.get("strings"):
        strings = crossval.get("strings", {}).get("mean_string_accuracy")
        lines.append(row("digit strings of 5, read whole", None, loso["strings"]["mean_string_accuracy"], strings))
    lines.append(row("test split", tested["zero_shot_accuracy"], tested["accuracy"], scores["accuracy"]))
    synth_alone = loso.get("cross_corpus", {}).get("training_only_to_real")
    if synth_alone:
        mfcc = crossval.get("cross_corpus", {}).get("accuracy")
        lines.append(row("trained on synthetic voices alone", synth_alone["zero_shot"], synth_alone["accuracy"], mfcc))
    return lines


def fusion_lines(metrics: Path) -> list[str]:
    """The shipped recogniser (Whisper plus the MFCC model at the fusion weight) beside each alone, on voices never
    heard, clean and in each noise; none without `metrics/fusion.json`."""
    path = metrics / "fusion.json"
    if not path.is_file():
        return []
    found = read(path)
    lines = [f"Shipped: Whisper + {found['weight']:g} x MFCC (metrics/fusion.json), new voices: fused | Whisper | MFCC"]
    for condition, fused in found["mean"]["fused"].items():
        alone = (found["mean"][name][condition] for name in ("whisper", "mfcc"))
        lines.append(f"  {condition:36}" + "".join(f"{v:12.4f}" for v in (fused, *alone)))
    return lines


def new_voice_lines(metrics: Path) -> list[str]:
    """What `digits predict` answers voices it never heard, each recogniser with its detector (the mean over the
    voices of their shares right, wrong and refused); none without `metrics/new_voices.json`."""
    path = metrics / "new_voices.json"
    if not path.is_file():
        return []
    names = {"shipped": "shipped (Whisper's detector)", "whisper": "Whisper (its detector)", "mfcc": "MFCC (its own)"}
    lines = ["As `digits predict` answers voices never heard (metrics/new_voices.json): right | wrong | refused"]
    for name, found in read(path).items():
        mean = found["mean"]
        lines.append(
            f"  {names.get(name, name):36}" + "".join(f"{mean[a]:12.4f}" for a in ("right", "wrong", "refused"))
        )
    return lines


def summarise(metrics: Path) -> str:
    """The headline figures of `metrics/`: voices never heard, seen speakers (test split), noise, no digit heard,
    data."""
    crossval, scores = read(metrics / "crossval.json"), read(metrics / "eval.json")
    noise, data = read(metrics / "noise.json"), read(metrics / "data_report.json")
    folds = "  ".join(f"{speaker} {fold['accuracy']:.3f}" for speaker, fold in crossval["folds"].items())
    lines = [
        *new_voice_lines(metrics),
        "Voices never heard (leave-one-speaker-out, metrics/crossval.json):",
        f"  mean accuracy {crossval['mean_accuracy']:.4f} ± {crossval['std_accuracy']:.4f} over "
        f"{len(crossval['folds'])} held-out speakers (each clip alone: {crossval['mean_accuracy_one_view']:.4f})",
        *textwrap.wrap(folds, WIDTH, initial_indent="  ", subsequent_indent="  "),
        *cross_corpus(crossval),
        *side_by_side(metrics, crossval, scores),
        *fusion_lines(metrics),
        "Speakers heard in training, test split (metrics/eval.json):",
        f"  accuracy {scores['accuracy']:.4f} on {scores['test_clips']} clips, macro F1 {scores['macro']['f1']:.4f}",
        f"Noise, test split, accuracy (metrics/noise.json; clean {noise['clean']:.4f}):",
        *noise_table(noise),
        "No digit heard, MFCC's detector (metrics/openset.json; threshold from voices it never heard):",
        *open_set(read(metrics / "openset.json")),
        *whisper_open_set(metrics),
        "Data (metrics/data_report.json):",
        *corpus_lines(data),
    ]
    return "\n".join(lines)
