"""The code's structure: each DVC stage's deps cover the code it runs; stages import only the library; no cycles.

Each stage's `cmd` is `python -m stages.NAME ...`; its code is `stages/NAME.py` and, transitively, every
module of the project it imports (found with `ast`, imports inside functions included), with the
`__init__.py` of each package on the way.
"""

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("digits", "stages")


def module_file(name: str, root: Path = PROJECT) -> Path | None:
    """The source file of the project module `name` (dotted), or None if it is not one of the project's."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache  # the files do not change during a test run: each is parsed once
def imports(path: Path, root: Path = PROJECT) -> set[str]:
    """Dotted names of the project modules that the file `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from digits import stage` imports the module digits.stage; `from digits.x import f` imports digits.x
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if module_file(name, root)}
    return found


def packages_of(name: str) -> list[str]:
    """The packages whose `__init__.py` runs when module `name` is imported: `a.b.c` -> `a`, `a.b`."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def chosen_front_end(root: Path = PROJECT) -> str:
    """The front end params.yaml's `features.frontend` names."""
    return yaml.safe_load((root / "params.yaml").read_text())["features"]["frontend"]


def closure(module: str, root: Path = PROJECT) -> set[Path]:
    """Files of the project that importing `module` runs, relative to `root`; the registry `digits.frontends`
    imports the front end params.yaml chooses, by name."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or not module_file(name, root):
            continue
        seen.add(name)
        todo += packages_of(name) + sorted(imports(module_file(name, root), root))
        if name == "digits.frontends":
            todo.append(f"digits.frontends.{chosen_front_end(root)}")
    return {module_file(name, root).relative_to(root) for name in seen}


def stage_modules(dvc_yaml: Path) -> dict[str, tuple[str, list[str]]]:
    """{stage: (module its cmd runs, its deps)} of a dvc.yaml, `${features.frontend}` in a dep resolved."""
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    found = {}
    for name, stage in stages.items():
        words = stage["cmd"].split()
        assert words[:2] == ["python", "-m"], f"stage {name}: cmd must be `python -m stages.{name} ...`"
        deps = [dep.replace("${features.frontend}", chosen_front_end()) for dep in stage.get("deps", [])]
        found[name] = (words[2], deps)
    return found


def missing_deps(dvc_yaml: Path, root: Path = PROJECT) -> dict[str, list[str]]:
    """{stage: files of its code that its deps do not cover}, for the stages that miss any."""
    missing = {}
    for name, (module, deps) in stage_modules(dvc_yaml).items():
        covered = [Path(dep) for dep in deps]
        code = sorted(closure(module, root))
        uncovered = [str(f) for f in code if not any(f == dep or dep in f.parents for dep in covered)]
        if uncovered:
            missing[name] = uncovered
    return missing


def extra_deps(dvc_yaml: Path, root: Path = PROJECT) -> dict[str, list[str]]:
    """{stage: Python files among its deps that its code never imports}, for the stages that list any."""
    extra = {}
    for name, (module, deps) in stage_modules(dvc_yaml).items():
        code = closure(module, root)
        listed = [dep for dep in deps if dep.endswith(".py") and Path(dep) not in code]
        if listed:
            extra[name] = listed
    return extra


def test_every_stage_lists_the_code_it_runs() -> None:
    assert missing_deps(PROJECT / "dvc.yaml") == {}


def test_no_stage_lists_code_it_does_not_run() -> None:
    """An unused dep reruns a stage for nothing (the Whisper stages once reran on every edit of speech_embedding)."""
    assert extra_deps(PROJECT / "dvc.yaml") == {}


def test_only_the_chosen_front_end_reruns_the_stages_that_use_it() -> None:
    """An edit to the opt-in speech_embedding module reruns stage `frontend` alone while MFCC is chosen (it once
    reran 13 stages); each stage of the chosen front end depends on its module by `${features.frontend}`."""
    raw = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]
    using = sorted(name for name, (_, deps) in stage_modules(PROJECT / "dvc.yaml").items() if any(
        dep == "digits/frontends/speech_embedding.py" for dep in deps))  # fmt: skip
    assert chosen_front_end() == "mfcc" and using == ["frontend"]
    users = [name for name, stage in raw.items() if "digits/frontends/__init__.py" in stage.get("deps", [])]
    assert len(users) >= 9 and all("digits/frontends/${features.frontend}.py" in raw[n]["deps"] for n in users)


def test_a_removed_dep_is_caught(tmp_path: Path) -> None:
    """The check itself: drop one library file from the `export` stage's deps and it is named."""
    dvc = yaml.safe_load((PROJECT / "dvc.yaml").read_text())
    dvc["stages"]["export"]["deps"].remove("digits/runtime.py")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dvc))
    assert missing_deps(tmp_path / "dvc.yaml") == {"export": ["digits/runtime.py"]}
    dvc["stages"]["zeroshot"]["deps"].append("digits/serve.py")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dvc))
    assert extra_deps(tmp_path / "dvc.yaml") == {"zeroshot": ["digits/serve.py"]}


def test_every_corpus_ingest_reads_is_one_of_its_deps() -> None:
    """A corpus added to `ingest.sources` but not to the stage's deps would never make `dvc repro` rerun ingest."""
    deps = yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]["ingest"]["deps"]
    sources = yaml.safe_load((PROJECT / "params.yaml").read_text())["ingest"]["sources"]
    assert sources and all(f"${{ingest.sources.{name}.data_dir}}" in deps for name in sources)


def test_each_stage_runs_its_own_module_named_after_it() -> None:
    for name, (module, deps) in stage_modules(PROJECT / "dvc.yaml").items():
        assert module == f"stages.{name}" and f"stages/{name}.py" in deps


def test_no_stage_imports_another_stage() -> None:
    for path in sorted((PROJECT / "stages").glob("*.py")):
        others = {name for name in imports(path) if name.startswith("stages")}
        assert others == set(), f"{path.name} imports {others}"


def test_the_library_never_imports_a_stage() -> None:
    """(`digits NAME` reaches the module `stages.NAME` by name, at run time, not by an import.)"""
    for path in sorted((PROJECT / "digits").glob("*.py")):
        stages = {name for name in imports(path) if name.startswith("stages")}
        assert stages == set(), f"{path.name} imports {stages}"


def library_graph() -> dict[str, set[str]]:
    """{library module: library modules it imports}."""
    graph = {}
    for path in (PROJECT / "digits").glob("*.py"):
        name = "digits" if path.stem == "__init__" else f"digits.{path.stem}"
        graph[name] = {m for m in imports(path) if m.startswith("digits") and m != name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [*path, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [node])):
            return found
    return None


def test_the_library_has_no_import_cycle() -> None:
    graph = library_graph()
    assert "digits.stage" in graph and cycle(graph) is None, cycle(graph)


def test_the_cycle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_digits_predict_starts_without_pandas_tensorflow_or_scikit_learn() -> None:
    """What `digits predict` imports before its first answer: pandas alone cost a cold run about 0.4 s."""
    probe = (
        "import sys, digits.cli, digits.predict, digits.runtime, digits.whisper_head, digits.fusion, digits.recognise; "
    )
    probe += "print(sorted({'pandas', 'tensorflow', 'sklearn'} & set(sys.modules)))"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert found.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["digits.predict", "digits.runtime", "digits.recognise", "digits.serve"])
def test_predict_path_imports_no_stage_and_no_training_code(module: str) -> None:
    files = {str(f) for f in closure(module)}
    assert not {"digits/training.py", "digits/models.py"} & files and not any(f.startswith("stages") for f in files)
