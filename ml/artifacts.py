"""Saving and loading trained models (ModelBundle) as joblib files, guarded by SHA-256.

Unpickling runs code named in the file, so it is only ever done on files this project
wrote: artifacts are written by our own training (:func:`artifact_save`) and their digest is
recorded with the model version; :func:`artifact_load` checks the bytes against that digest
*before* unpickling, so a file changed on disk (by accident or on purpose) is refused
without being executed. User uploads are CSV (ml/csv_io.py) and are never unpickled.

Writes are atomic (a temporary file in the same directory, then ``os.replace``): a reader
sees the old file or the whole new one, never half of it, even if training is killed
mid-write.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Final

import joblib

from ml.training import ModelBundle

SUFFIX: Final = ".joblib"
COMPRESS: Final = 3  # zlib 3: a default forest on 20k hours 640 -> 250 kB, load 23 -> 47 ms
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")


class ArtifactError(Exception):
    """A model file that cannot be used: missing, changed since training, or not a model.

    The message names the file and says what to do (retrain, or restore the file).
    """


def artifact_save(bundle: ModelBundle, directory: Path, stem: str) -> tuple[Path, str]:
    """Write ``bundle`` to ``directory/<stem>.joblib``; return (path, sha256 hex of its bytes).

    Creates the directory. Atomic: written to a temporary file, then renamed over the
    target. ``stem`` is a plain file name (letters, digits, ``._-``), never a path.
    """
    if not isinstance(bundle, ModelBundle):
        raise ArtifactError(f"only a ModelBundle is saved as a model, got {type(bundle)}")
    if not _STEM.fullmatch(stem) or ".." in stem:
        raise ArtifactError(f"artifact name {stem!r} must be letters, digits, '.', '_' or '-'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    joblib.dump(bundle, buffer, compress=COMPRESS)
    data = buffer.getvalue()
    path = directory / f"{stem}{SUFFIX}"
    handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{stem}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path, hashlib.sha256(data).hexdigest()


def artifact_load(path: Path, sha256: str) -> ModelBundle:
    """The ModelBundle in ``path``, after checking its bytes hash to ``sha256``.

    Raises ArtifactError when the file is missing, its digest differs (checked before
    anything is unpickled) or it holds something other than a ModelBundle.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(
            f"model file {path} is missing; restore it from a backup or retrain the model"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"model file {path} cannot be read ({exc}); check it") from None
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual.encode(), str(sha256).strip().lower().encode()):
        raise ArtifactError(
            f"model file {path} does not match its recorded sha256: expected {sha256}, "
            f"actual {actual}; the file was changed after training; retrain or restore it"
        )
    bundle = joblib.load(io.BytesIO(data))
    if not isinstance(bundle, ModelBundle):
        raise ArtifactError(
            f"model file {path} holds a {type(bundle).__name__}, not a trained model; "
            "retrain the model"
        )
    return bundle
