"""The front ends: trimmed speech in, the matrices and summary vectors a model reads out; one module each.

`features.frontend` names one; its own params are the sub-section of `features` of the same name. A front
end is a module here with:
- `SPEC_AUGMENT`: whether training masks and shifts its matrices; `PRETRAINED`: whether stage `frontend`
  obtains a model folder for it;
- `Settings`: a frozen dataclass of its params; `matrix_shape(settings)` and `summary_size(settings)`;
- `features(speech, p, model_dir, threads)`: `(matrices (n, *shape), summaries (n, size))` of trimmed mono
  clips at `p.sample_rate`, its pretrained model (if any) opened from `model_dir` on `threads` threads.
`front_end` imports the one asked for, by name, so that the stages of one front end run (and depend on) its
module alone: in `dvc.yaml` they list `digits/frontends/${features.frontend}.py`. Adding a front end is a
module here, its entry in `FRONTENDS` and its params in `params.yaml` and `digits.params`. (Whisper is not
one of them: it recognises digits by itself, see `digits.whisper`.)
"""

from importlib import import_module
from types import ModuleType

FRONTENDS = {"mfcc": "mfcc", "speech_embedding": "embedding"}  # front end -> its matrices' name (a model's input)


def front_end(name: str) -> ModuleType:
    """The front end module called `name`."""
    if name not in FRONTENDS:
        raise ValueError(f"unknown front end {name!r}; choose one of {', '.join(FRONTENDS)}")
    return import_module(f"{__name__}.{name}")
