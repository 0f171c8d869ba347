"""Stage `train`: fit the Keras model (`model.kind`) on the train split and its augmented copies.

    python -m stages.train data/features data/augmented models/model.keras models/model.json metrics/train

Saves the model with its metadata (kind, input, the feature params it was trained with) and logs the
curves, with the validation split, through dvclive.
"""

from pathlib import Path

from dvclive import Live
from dvclive.keras import DVCLiveCallback

from digits import DigitsError, stage
from digits.features import FeatureParams
from digits.models import input_name
from digits.params import ModelParams, TrainParams
from digits.training import EpochLine, fit, load_inputs, one_thread, save_model, training_set


def run(
    p: TrainParams,
    model_params: ModelParams,
    features: Path,
    augmented: Path,
    keras_file: Path,
    meta_file: Path,
    live: Path,
) -> None:
    """Train on the feature tables `features` and `augmented`; save as `keras_file` and `meta_file`, curves to
    the folder `live`."""
    one_thread()  # the same bits whatever the core count
    kind = model_params.kind
    keys, x, copies, feature_params = load_inputs(kind, features, augmented)
    train, val = (keys["split"] == "train").to_numpy(), (keys["split"] == "val").to_numpy()
    if not train.any() or not val.any():
        raise DigitsError("training needs clips in both the train and the val split (see ingest.val_size)")
    x_train, y_train = training_set(keys, x, train, copies)
    print(f"{kind}: training on {len(x_train)} examples ({train.sum()} clips and their augmented copies)")
    logger = Live(str(live), dvcyaml=None, save_dvc_exp=False)
    validation = (x[val], keys["label"].to_numpy()[val])
    callbacks = [DVCLiveCallback(live=logger), EpochLine()]
    front_end = FeatureParams.from_dict(feature_params)
    model, history = fit(
        model_params, p, x_train, y_train, validation, callbacks, spec_augment=front_end.front_end.SPEC_AUGMENT
    )
    val_accuracy = float(history.history["val_accuracy"][-1])
    logger.summary.update(epochs=p.epochs, final_val_accuracy=val_accuracy, parameters=model.count_params())
    logger.make_summary()
    name = input_name(kind, front_end.matrix)
    meta = {"kind": kind, "input": name, "feature_params": feature_params, "labels": list(range(10))}
    save_model(model, meta, keras_file, meta_file)
    print(f"{kind}: {model.count_params()} parameters, val accuracy {val_accuracy:.4f} after {p.epochs} epochs")


if __name__ == "__main__":
    stage.main(run)
