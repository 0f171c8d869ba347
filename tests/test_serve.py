"""`digits serve`: its API against `digits predict --json`, bad input, a missing model, and the page in Chromium."""

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import Project
from tests.corpus import synth_clip
from tests.server import CHROMEDRIVER, CHROMIUM, DIGITS, browser, serving

pytestmark = pytest.mark.slow  # end-to-end: `make check` leaves it out

HAS_BROWSER = bool(CHROMIUM and CHROMEDRIVER)
needs_browser = pytest.mark.skipif(
    not HAS_BROWSER and os.environ.get("DIGITS_REQUIRE_BROWSER") != "1",
    reason="no chromium and chromedriver (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def project(pipeline_run: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return pipeline_run.copy(tmp_path_factory.mktemp("serve") / "project")


@pytest.fixture(scope="module")
def server(project: Project) -> str:
    with serving(project.root) as (url, _):
        yield url


def split_clips(project: Project) -> pd.DataFrame:
    """The test split of the project's manifest, with absolute paths."""
    manifest = pd.read_parquet(project.root / "data" / "manifest.parquet")
    test = manifest[manifest["split"] == "test"].copy()
    test["path"] = [str(project.root / p) for p in test["path"]]
    return test


def cli_json(project: Project, *args: str) -> list[dict]:
    """`digits predict --json ARGS` in the project: one dict per input."""
    result = project.attempt(DIGITS, "predict", "--json", *args)
    return [json.loads(line) for line in result.stdout.splitlines()]


def api(url: str, data: bytes, **query: object) -> httpx.Response:
    return httpx.post(f"{url}api/predict", content=data, params=query, timeout=60)


def digit_string(clips: list[str], out: Path, pause: float = 0.6, lead: float = 0.5, tail: float = 1.0) -> Path:
    """A WAV of `clips` (8 kHz) with `pause` s between them, `lead` s before and `tail` s after."""
    gap = np.zeros(int(8000 * pause), np.float32)
    parts = [np.zeros(int(8000 * lead), np.float32)]
    for clip in clips:
        parts += [sf.read(clip, dtype="float32")[0], gap]
    sf.write(out, np.concatenate([*parts[:-1], np.zeros(int(8000 * tail), np.float32)]), 8000)
    return out


def test_api_answers_what_predict_json_prints(project: Project, server: str, tmp_path: Path) -> None:
    clips = split_clips(project)["path"].tolist()[:8]
    stereo = tmp_path / "hifi.flac"
    y = sf.read(clips[0], dtype="float32")[0]
    sf.write(stereo, np.stack([y, y], 1).repeat(2, axis=0), 16000, "PCM_24")
    noise = tmp_path / "noise.wav"
    sf.write(noise, np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32), 8000)
    for path in [*clips, str(stereo), str(noise)]:
        response = api(server, Path(path).read_bytes(), name=path)
        assert response.status_code == 200, response.text
        assert response.json() == cli_json(project, path)[0]
    assert "no_digit" in response.json()  # "no digit heard" is an answer, not an error
    string = digit_string(clips[:3], tmp_path / "string.wav")
    answer = api(server, string.read_bytes(), sequence="true", name=str(string)).json()
    assert answer == cli_json(project, "--sequence", str(string))[0]
    assert len(answer["segments"]) == 3


def test_api_model_health_and_docs(project: Project, server: str) -> None:
    assert httpx.get(f"{server}healthz").json() == {"status": "ok"}
    about = httpx.get(f"{server}api/model").json()
    crossval = json.loads((project.root / "metrics" / "crossval.json").read_text())
    assert about["leave_one_speaker_out"]["mean_accuracy"] == crossval["mean_accuracy"]
    assert about["frontend"] == "mfcc" == project.params()["predict"]["frontend"]
    assert about["runtime"] == "onnx" and about["input"] == "mfcc" and about["detector"]["threshold"] > 0
    assert about["limits"]["max_bytes"] == project.params()["serve"]["max_bytes"]
    assert httpx.get(f"{server}docs").status_code == 200
    assert "/api/predict" in httpx.get(f"{server}openapi.json").json()["paths"]
    page = httpx.get(server).text
    assert 'id="record"' in page and "http" not in page.replace('name="viewport"', "")  # no asset from elsewhere


def test_bad_input_gets_predicts_reason_and_never_takes_the_server_down(
    project: Project, server: str, tmp_path: Path
) -> None:
    limit = project.params()["serve"]["max_bytes"]
    nan = np.full(4000, 0.1, np.float32)
    nan[100] = np.nan
    inputs = {
        "junk.wav": b"not audio",
        "nan.wav": nan,
        "silent.wav": np.zeros(4000, np.float32),
        "long.wav": np.tile(synth_clip(3, 1, 2), 40)[: 8000 * 12],
    }
    for name, content in inputs.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            sf.write(tmp_path / name, content, 8000, "FLOAT")
        response = api(server, (tmp_path / name).read_bytes())
        reason = project.attempt(DIGITS, "predict", str(tmp_path / name)).stderr.strip().split(": ", 1)[1]
        assert (response.status_code, response.json()["detail"]) == (422, reason), name
    assert api(server, b"").status_code == 400
    too_big = api(server, b"\0" * (limit + 1))
    assert too_big.status_code == 413 and "too large" in too_big.json()["detail"]

    # A client that stalls mid-upload holds no one else up, and one that gives up mid-upload harms nothing.
    host, port = server.removeprefix("http://").rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as aborted:
        aborted.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nRIFF")
    with socket.create_connection((host, int(port))) as stalled:
        stalled.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nRIFF")
        good = split_clips(project)["path"].iloc[0]
        start = time.perf_counter()
        assert api(server, Path(good).read_bytes()).status_code == 200
        assert time.perf_counter() - start < 5
    assert httpx.get(f"{server}healthz").status_code == 200


def test_serve_on_whisper_answers_what_predict_prints_and_says_so(project: Project, tmp_path: Path) -> None:
    clips = split_clips(project)["path"].tolist()[:6]
    with serving(project.root, "--frontend", "whisper") as (url, _):
        answers = [api(url, Path(path).read_bytes(), name=path).json() for path in clips]
        with ThreadPoolExecutor(len(clips)) as pool:  # at once: they share Whisper's batches
            together = list(pool.map(lambda path: api(url, Path(path).read_bytes(), name=path).json(), clips))
        string = digit_string(clips[:3], tmp_path / "string.wav")
        said = api(url, string.read_bytes(), sequence="true", name=str(string)).json()
        about = httpx.get(f"{url}api/model").json()
    assert answers == together == cli_json(project, "--frontend", "whisper", *clips)
    assert answers != cli_json(project, "--frontend", "mfcc", *clips)  # the probabilities differ at least
    assert said == cli_json(project, "--frontend", "whisper", "--sequence", str(string))[0]
    crossval = json.loads((project.root / "metrics" / "whisper" / "crossval.json").read_text())
    assert about["frontend"] == "whisper" and about["runtime"] == "whisper"
    openset = json.loads((project.root / "metrics" / "whisper" / "openset.json").read_text())
    assert about["detector"]["file"] == "whisper/detector"  # its own "no digit heard", not MFCC's
    assert about["detector"]["threshold"] == pytest.approx(openset["threshold"], abs=1e-6)
    assert about["leave_one_speaker_out"]["mean_accuracy"] == crossval["mean_accuracy"]
    fusion = json.loads((project.root / "models" / "whisper" / "fusion.json").read_text())["weight"]
    assert about["fusion"]["weight"] == fusion and about["input"] == f"whisper tiny.en + MFCC at weight {fusion:g}"
    assert (
        about["model_params"]["weight"]
        == json.loads((project.root / "metrics/whisper/eval.json").read_text())["weight"]
    )


def test_serve_refuses_a_missing_or_stale_model_in_one_line(project: Project) -> None:
    missing = project.attempt(DIGITS, "serve", "--model", "nowhere")
    assert missing.returncode == 1
    assert missing.stderr == "error: no nowhere/model.onnx: run `dvc repro export` or `dvc pull`\n"
    keras_file = project.root / "models" / "model.keras"
    original = keras_file.read_bytes()
    try:
        keras_file.write_bytes(original + b"\0")
        stale = project.attempt(DIGITS, "serve", "--port", "0")
        assert stale.returncode == 1 and "is older than models/model.keras: run `dvc repro export`" in stale.stderr
    finally:
        keras_file.write_bytes(original)


@pytest.mark.parametrize("frontend", ["mfcc", "whisper"])
def test_serving_never_imports_tensorflow(project: Project, frontend: str) -> None:
    clip = split_clips(project)["path"].iloc[0]
    probe = (
        "import sys; from pathlib import Path; from fastapi.testclient import TestClient; "
        "from digits.params import PredictParams, ServeParams, load; "
        "from digits.serve import create_app, open_service; "
        f"service = open_service(Path('models'), {frontend!r}, load(ServeParams), load(PredictParams), "
        "Path('metrics')); "
        "app = create_app(service); "
        f"r = TestClient(app).post('/api/predict', content=Path({clip!r}).read_bytes()); "
        "print(r.status_code, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True)
    assert result.stdout.split() == ["200", "False"], result.stderr[-2000:]


def right_clips(server: str, test: pd.DataFrame, count: int) -> list[tuple[str, int]]:
    """`count` test-split clips the API gets right, of different digits: (path, digit)."""
    chosen: list[tuple[str, int]] = []
    for path, label in zip(test["path"], test["label"], strict=True):
        if label not in [d for _, d in chosen] and api(server, Path(path).read_bytes()).json().get("digit") == label:
            chosen.append((path, int(label)))
        if len(chosen) == count:
            return chosen
    raise AssertionError(f"fewer than {count} test clips recognised")


def shown(driver: WebDriver, state: str = "done", wait: float = 30) -> str:
    """The digit(s) the page shows once its result reaches `state`."""
    result = driver.find_element(By.ID, "result")
    WebDriverWait(driver, wait).until(lambda _: result.get_attribute("data-state") in (state, "refused"))
    return driver.find_element(By.ID, "digit").text


@needs_browser
def test_the_page_hears_a_recorded_digit_a_file_and_a_digit_string(
    project: Project, server: str, tmp_path: Path
) -> None:
    test = split_clips(project)
    (one, digit), *others = right_clips(server, test, 4)
    said = digit_string([one], tmp_path / "one.wav", lead=0.5, tail=1.5)
    driver = browser(said)
    try:
        driver.get(server)
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.SPACE)  # the keyboard alone
        time.sleep(1.6)
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.SPACE)
        assert shown(driver) == str(digit), driver.find_element(By.ID, "status").text
        bars = driver.find_elements(By.CSS_SELECTOR, "#bars .bar")
        assert len(bars) == 10 and "top" in bars[digit].get_attribute("class")
        assert driver.find_element(By.ID, "model").text.startswith("model: mfcc (")
        driver.save_screenshot(str(project.root / "metrics" / "serve-test.png"))

        path, label = others[0]
        driver.execute_script("document.getElementById('result').dataset.state = 'empty'")
        driver.find_element(By.ID, "file").send_keys(path)
        assert shown(driver) == str(label)
        assert Path(path).name in driver.find_element(By.ID, "status").text
    finally:
        driver.quit()

    string = [p for p, _ in others]
    driver = browser(digit_string(string, tmp_path / "string.wav"))
    try:
        driver.get(server)
        driver.find_element(By.ID, "sequence").click()
        driver.find_element(By.ID, "record").click()
        time.sleep(0.5 + 3 * 0.6 + sum(sf.info(p).duration for p in string) + 0.5)
        driver.find_element(By.ID, "record").click()
        assert shown(driver) == " ".join(str(d) for _, d in others)
        assert len(driver.find_elements(By.CSS_SELECTOR, "#parts li")) == 3
    finally:
        driver.quit()
