"""Model files: saved atomically, loaded only when their bytes match the recorded digest."""

from __future__ import annotations

import hashlib
import pickle

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from ml.artifacts import ArtifactError, artifact_load, artifact_save
from ml.features import FEATURES
from ml.training import ModelBundle
from trading.strategies.frames import shipped_candles

UNPICKLED: list[str] = []


def _record_unpickle(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class Tripwire:
    """Unpickling it runs _record_unpickle: proof of whether a file was unpickled."""

    def __reduce__(self):
        return (_record_unpickle, ("tripwire",))


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    """A small real model (logistic regression on random features): cheap to build."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(FEATURES)))
    y = (x[:, 0] + rng.normal(size=300) > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    return ModelBundle(
        pipeline=model,
        features=FEATURES,
        classes=("down", "up"),
        horizon=12,
        threshold=0.002,
        algorithm="logistic_regression",
        params={"C": 1.0, "max_iter": 1000},
    )


@pytest.fixture(scope="module")
def candles():
    return shipped_candles("BTCUSDT", "1h").iloc[-600:]


def test_a_saved_model_loads_and_predicts_the_same(tmp_path, bundle, candles):
    path, digest = artifact_save(bundle, tmp_path / "models" / "btc", "v1")
    assert path == tmp_path / "models" / "btc" / "v1.joblib"
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = artifact_load(path, digest)
    assert isinstance(loaded, ModelBundle)
    assert (loaded.features, loaded.classes, loaded.params) == (
        bundle.features,
        bundle.classes,
        bundle.params,
    )
    np.testing.assert_array_equal(
        loaded.predict_proba(candles).to_numpy(), bundle.predict_proba(candles).to_numpy()
    )
    assert loaded.predict_last(candles) == bundle.predict_last(candles)


def test_saving_leaves_no_temporary_file_and_replaces_the_old_one(tmp_path, bundle):
    first, _ = artifact_save(bundle, tmp_path, "v1")
    second, digest = artifact_save(bundle, tmp_path, "v1")
    assert first == second
    assert [p.name for p in tmp_path.iterdir()] == ["v1.joblib"]
    assert artifact_load(second, digest).algorithm == "logistic_regression"


def test_a_flipped_byte_is_refused_naming_both_digests(tmp_path, bundle):
    path, digest = artifact_save(bundle, tmp_path, "v1")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError) as caught:
        artifact_load(path, digest)
    message = str(caught.value)
    assert str(path) in message
    assert digest in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert "the file was changed after training; retrain or restore it" in message


def test_a_changed_file_is_refused_before_it_is_unpickled(tmp_path, bundle):
    path, digest = artifact_save(bundle, tmp_path, "v1")
    joblib.dump(Tripwire(), path)  # swapped for a file whose unpickling has a side effect
    UNPICKLED.clear()
    with pytest.raises(ArtifactError, match="sha256"):
        artifact_load(path, digest)
    assert UNPICKLED == []
    # the tripwire works: with its own digest the file is unpickled (and refused after)
    own = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ArtifactError, match="not a trained model"):
        artifact_load(path, own)
    assert UNPICKLED == ["tripwire"]


def test_garbage_with_a_wrong_digest_fails_on_the_digest_not_on_unpickling(tmp_path):
    path = tmp_path / "junk.joblib"
    path.write_bytes(b"this is not a pickle at all")
    with pytest.raises(ArtifactError, match="does not match its recorded sha256"):
        artifact_load(path, "0" * 64)


def test_a_missing_file_is_an_artifact_error(tmp_path):
    with pytest.raises(ArtifactError, match="missing"):
        artifact_load(tmp_path / "gone.joblib", "0" * 64)


def test_a_file_holding_something_else_is_refused(tmp_path):
    path = tmp_path / "dict.joblib"
    path.write_bytes(pickle.dumps({"pipeline": None}))
    with pytest.raises(ArtifactError, match="holds a dict, not a trained model"):
        artifact_load(path, hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_stem_must_be_a_plain_name(tmp_path, bundle):
    for stem in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ArtifactError, match="artifact name"):
            artifact_save(bundle, tmp_path, stem)
    assert list(tmp_path.iterdir()) == []
