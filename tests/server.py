"""`digits serve` in a child process and Debian's Chromium driven by Selenium, for the tests and the benchmark."""

import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

DIGITS = str(Path(sys.executable).parent / "digits")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@contextmanager
def serving(root: Path, *options: str, wait: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """`digits serve --port 0 OPTIONS` run in project `root`: (its URL, the process), stopped on exit."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    process = subprocess.Popen(
        [DIGITS, "serve", "--port", "0", *options], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], wait)
        line = process.stdout.readline().decode() if ready else ""
        found = re.search(r"http://\S+/", line)
        if not found:
            process.kill()
            raise RuntimeError(f"digits serve did not start: {line}{process.stderr.read().decode()[-2000:]}")
        yield found.group(0), process
    finally:
        process.terminate()
        process.wait(10)


def browser(fake_microphone: Path | None = None, size: tuple[int, int] = (700, 1100)) -> WebDriver:
    """Headless Chromium whose microphone plays the WAV file `fake_microphone` once (silence after it), with the
    permission prompt answered yes."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = ["--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if fake_microphone is not None:
        flags.append(f"--use-file-for-fake-audio-capture={fake_microphone}%noloop")
    for flag in [*flags, f"--window-size={size[0]},{size[1]}", "--autoplay-policy=no-user-gesture-required"]:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
