"""The DVC pipeline's stages: one module per stage of dvc.yaml, each holding its `run(...)`, run as
`python -m stages.NAME [--params FILE] PATHS...`. A stage imports the `digits` library, never another stage."""
