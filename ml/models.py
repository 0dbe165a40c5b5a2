"""The model registry: trained versions, which one is active, training runs, uploads,
events and the live predictions that are scored once their label is known.

A ModelVersion is shared (``owner`` null: trained by the system, beat or staff) or private
to the user whose upload or retrain produced it; a user sees the shared ones and their
own. "Active" is per user on top of a shared default (ActiveModel with ``owner`` null):
a user's own choice wins, so activating or rolling back never changes another user's
predictions. The artifact file is written only by our training and its sha256 is checked
on every load (ml/artifacts.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One trained model: what it was trained on, how it scored, and its artifact."""

    class Status(models.TextChoices):
        READY = "ready"
        RETIRED = "retired"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="model_versions",
        help_text="Empty: shared with every user.",
    )
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    version = models.PositiveIntegerField(help_text="1, 2, ... per symbol and timeframe.")
    algorithm = models.CharField(max_length=40)
    horizon = models.PositiveIntegerField()
    threshold = models.FloatField()
    classes = models.JSONField()
    features = models.JSONField()
    params = models.JSONField(default=dict)
    source = models.CharField(max_length=20, help_text="shipped, stored or upload")
    data_start = models.DateTimeField()
    data_end = models.DateTimeField()
    rows = models.PositiveIntegerField()
    metrics = models.JSONField()
    baselines = models.JSONField()
    folds = models.JSONField(default=list)
    feature_importance = models.JSONField(default=list)
    backtest = models.JSONField(null=True, blank=True)
    artifact = models.CharField(max_length=300, help_text="Path under ML_ARTIFACT_DIR.")
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol", "timeframe", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "timeframe", "version"], name="model_version_number_unique"
            ),
            models.CheckConstraint(condition=Q(horizon__gte=1), name="model_version_horizon"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} v{self.version} ({self.algorithm})"


class ActiveModel(models.Model):
    """Which version answers predictions for a symbol and timeframe: a user's own choice
    (``owner`` set) or the shared default (``owner`` null)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="active_models",
    )
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    previous = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    activated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "symbol", "timeframe"], name="active_model_per_owner"
            ),
            models.UniqueConstraint(
                fields=["symbol", "timeframe"],
                condition=Q(owner__isnull=True),
                name="active_model_shared",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} -> v{self.version.version}"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    VALIDATING = "validating"
    TRAINING = "training"
    DONE = "done"
    FAILED = "failed"


class TrainingRun(models.Model):
    """One training, from queue to a new version (or an error); its log is shown live."""

    class Kind(models.TextChoices):
        INITIAL = "initial"
        SCHEDULED = "scheduled"
        MANUAL = "manual"
        UPLOAD = "upload"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="training_runs",
        help_text="Who the resulting version belongs to; empty: shared.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    source = models.CharField(max_length=20)
    config = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    message = models.CharField(max_length=300, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="training_run_progress"),
        ]

    def __str__(self) -> str:
        return f"training {self.pk} {self.symbol} {self.timeframe} ({self.status})"


class Upload(models.Model):
    """A user's CSV of candles, validated on arrival, then retrained on by a worker."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_uploads"
    )
    filename = models.CharField(max_length=200, blank=True)
    path = models.CharField(max_length=300, help_text="The validated candles, under ML_UPLOAD_DIR.")
    rows = models.PositiveIntegerField()
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    run = models.OneToOneField(TrainingRun, on_delete=models.CASCADE, related_name="upload")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"upload {self.pk} {self.filename}"


class ModelEvent(models.Model):
    """What happened to models (trainings, activations, refusals, errors): /model/logs and
    /model/errors read these. ``owner`` null: a shared event everyone sees."""

    class Level(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="model_events",
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = models.CharField(max_length=500)
    context = models.JSONField(default=dict)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    run = models.ForeignKey(
        TrainingRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["level", "-created_at"])]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


class Prediction(models.Model):
    """A live prediction of one version at one closed candle, scored against the label
    once ``horizon`` more candles have closed."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="predictions")
    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    as_of = models.DateTimeField(help_text="Open time of the last closed candle used.")
    direction = models.CharField(max_length=10)
    probability = models.JSONField()
    realized = models.CharField(max_length=10, blank=True)
    correct = models.BooleanField(null=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["version", "as_of"], name="prediction_once_per_candle")
        ]
        indexes = [models.Index(fields=["scored_at", "as_of"])]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} {self.as_of:%Y-%m-%d %H:%M} {self.direction}"


# --------------------------------------------------------------------------- hybrid learning


class OnlineModel(models.Model):
    """The online (river) model of one symbol and timeframe: its learner's whole state
    (ml/online.py, pickled by our own code only) and the figures read without it."""

    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    algorithm = models.CharField(max_length=40)
    config = models.JSONField(default=dict)
    state = models.BinaryField(help_text="OnlineLearner.to_bytes(): never user input.")
    stats = models.JSONField(default=dict, help_text="OnlineLearner.stats() at the last save.")
    samples_seen = models.PositiveIntegerField(default=0)
    last_candle = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    drift_detections = models.PositiveIntegerField(default=0)
    last_drift_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["symbol", "timeframe"], name="online_model_unique")
        ]

    def __str__(self) -> str:
        return f"online {self.algorithm} {self.symbol} {self.timeframe} ({self.samples_seen})"


class DataCollection(models.Model):
    """Whether the candles, features and labels of a symbol are being gathered for the
    online model (stopped: it neither learns nor predicts live)."""

    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    active = models.BooleanField(default=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["symbol", "timeframe"], name="data_collection_unique")
        ]

    def __str__(self) -> str:
        return f"collect {self.symbol} {self.timeframe} ({'on' if self.active else 'off'})"


class HybridSettings(models.Model):
    """The hybrid's configuration (ml/hybrid.py HybridConfig as JSON) and what to do on
    drift; one row, shared by every user (changed by staff)."""

    config = models.JSONField(default=dict)
    retrain_on_drift = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"hybrid settings ({self.updated_at:%Y-%m-%d %H:%M})"


class HybridScore(models.Model):
    """Both models' p(up) for one closed candle, then the realised label: the prequential
    record the hybrid's weights and the performance history are computed from."""

    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    as_of = models.DateTimeField()
    p_batch = models.FloatField(null=True, blank=True)
    p_online = models.FloatField(null=True, blank=True)
    batch_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    label = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 down, 1 up")
    close = models.FloatField()
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["symbol", "timeframe", "as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "timeframe", "as_of"], name="hybrid_score_once_per_candle"
            )
        ]
        indexes = [models.Index(fields=["symbol", "timeframe", "-as_of"])]

    def __str__(self) -> str:
        return f"{self.symbol} {self.timeframe} {self.as_of:%Y-%m-%d %H:%M} label {self.label}"


class PerformanceSnapshot(models.Model):
    """A periodic measure of one model's live (prequential) performance."""

    class Kind(models.TextChoices):
        BATCH = "batch"
        ONLINE = "online"
        HYBRID = "hybrid"

    symbol = models.CharField(max_length=20)
    timeframe = models.CharField(max_length=4)
    model = models.CharField(max_length=10, choices=Kind.choices)
    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)
    samples = models.PositiveIntegerField()
    accuracy = models.FloatField(null=True, blank=True)
    log_loss = models.FloatField(null=True, blank=True)
    pnl_pct = models.FloatField(null=True, blank=True)
    weight = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["symbol", "timeframe", "model", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.model} {self.symbol} {self.timeframe} @ {self.taken_at:%Y-%m-%d %H:%M}"
