"""The DVC pipeline's stages: one module per stage of dvc.yaml, each holding its `run(...)`, run as
`python -m stages.NAME [--params FILE] PATHS...`. A stage imports the `digits` library, never another stage.

`digits` is imported here, before any stage module, so that its TensorFlow quieting is in place before a
stage's imports (Keras, dvclive) load TensorFlow.
"""

import digits  # noqa: F401
