"""Text to speech with Debian's espeak-ng: a function step for agno workflows.

``speak`` turns the previous step's text into a WAV file and returns it as the step's
audio (``StepOutput(audio=[Audio(...)])``), the way agno carries media between steps;
the run's audio is then stored as an artifact. Without espeak-ng installed the step
says so in its content and succeeds: the text is still there, only the voice is not.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

from agno.media import Audio
from agno.workflow.types import StepInput, StepOutput

ENGINE = "espeak-ng"
MAX_CHARS = 5_000  # about five minutes of speech; longer text is cut at a word
TIMEOUT_S = 60.0


class SpeechUnavailable(RuntimeError):
    pass


def engine_path() -> str | None:
    """Where espeak-ng is, looked up on PATH at call time (None when not installed)."""
    return shutil.which(ENGINE)


def missing_engine_message() -> str:
    return f"Speech skipped: {ENGINE} is not installed on this machine (apt-get install {ENGINE})."


def synthesize(text: str, *, voice: str = "en", words_per_minute: int = 165) -> bytes:
    """WAV bytes of ``text`` spoken. Raises SpeechUnavailable without the engine."""
    path = engine_path()
    if path is None:
        raise SpeechUnavailable(missing_engine_message())
    text = _shorten(" ".join(text.split()))
    with tempfile.TemporaryDirectory(prefix="speech-") as folder:
        wav = Path(folder) / "speech.wav"
        # The text goes on stdin, never the command line: it may start with "-".
        subprocess.run(
            [path, "-v", voice, "-s", str(words_per_minute), "-w", str(wav), "--stdin"],
            input=text.encode(),
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
        )
        return wav.read_bytes()


def _shorten(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS].rsplit(" ", 1)[0] + "…"


def speak(step_input: StepInput) -> StepOutput:
    """A workflow step: the previous step's text, spoken."""
    text = str(step_input.previous_step_content or step_input.input or "")
    try:
        wav = synthesize(text)
    except SpeechUnavailable as exc:
        return StepOutput(content=f"{exc} Text: {text}")
    audio = Audio(content=wav, mime_type="audio/wav", format="wav", sample_rate=_rate(wav))
    return StepOutput(content=text, audio=[audio])


def _rate(wav: bytes) -> int:
    """The sample rate in a canonical WAV header (bytes 24-27, little endian)."""
    return int.from_bytes(wav[24:28], "little") if wav[:4] == b"RIFF" else 22050
