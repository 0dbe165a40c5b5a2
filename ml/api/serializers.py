"""Input shapes of the model and ML routes (outputs are ml/selectors.py's dicts,
documented in docs/API.md). Types only; the services check the rest (symbol, training
settings, the CSV) and name the field they refuse."""

from __future__ import annotations

from rest_framework import serializers

from cryptobot.api.serializers import InputSerializer
from ml.models import ModelEvent
from ml.training import ALGORITHMS
from trading.exchange.base import TIMEFRAMES


class SymbolQuerySerializer(InputSerializer):
    """?symbol=&timeframe= (the symbol defaults to the initial model's, 1h)."""

    symbol = serializers.CharField(max_length=30, required=False)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), default="1h")


class PredictQuerySerializer(SymbolQuerySerializer):
    """GET /ml/predict: the batch model's prediction, or the hybrid's (model=hybrid)."""

    model = serializers.ChoiceField(choices=["batch", "hybrid"], default="batch")


class VersionQuerySerializer(SymbolQuerySerializer):
    """?version_id= or ?symbol=&timeframe= (the active version)."""

    version_id = serializers.IntegerField(min_value=1, required=False)


class VersionListQuerySerializer(InputSerializer):
    symbol = serializers.CharField(max_length=30, required=False)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), required=False)


class ActivateSerializer(InputSerializer):
    """POST /model/active_version: activate (or roll back to) a version."""

    version_id = serializers.IntegerField(min_value=1)
    shared = serializers.BooleanField(
        default=False, help_text="staff only: make it every user's default"
    )


class TrainingSettingsSerializer(InputSerializer):
    """The training settings shared by /ml/retrain and /model/upload_and_retrain."""

    symbol = serializers.CharField(max_length=30, required=False)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), required=False)
    algorithm = serializers.ChoiceField(choices=list(ALGORITHMS), required=False)
    horizon = serializers.IntegerField(required=False, help_text="candles ahead (1-500)")
    threshold = serializers.FloatField(
        required=False, help_text="return beyond which a move counts (0-0.2)"
    )
    classes = serializers.IntegerField(required=False, help_text="2 (down/up) or 3")
    folds = serializers.IntegerField(required=False, help_text="walk-forward folds (2-10)")
    params = serializers.JSONField(required=False, help_text="the algorithm's parameters")


class RetrainSerializer(TrainingSettingsSerializer):
    """POST /ml/retrain."""

    source = serializers.ChoiceField(choices=["shipped", "stored"], required=False)


class UploadSerializer(TrainingSettingsSerializer):
    """POST /model/upload_and_retrain (multipart: file + these fields)."""

    file = serializers.FileField(
        allow_empty_file=True,  # the CSV check says what is wrong with it (csv_empty)
        help_text="CSV of candles: open_time,open,high,low,close,volume",
    )


class PredictBatchSerializer(InputSerializer):
    """POST /model/predict_batch (multipart)."""

    file = serializers.FileField(
        allow_empty_file=True,  # the CSV check says what is wrong with it (csv_empty)
        help_text="CSV of candles: open_time,open,high,low,close,volume",
    )
    symbol = serializers.CharField(max_length=30, required=False)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), required=False)
    version_id = serializers.IntegerField(min_value=1, required=False)


class EventQuerySerializer(InputSerializer):
    level = serializers.ChoiceField(choices=ModelEvent.Level.values, required=False)


class SeriesSerializer(InputSerializer):
    """POST bodies naming one series: symbol (default the initial model's) and timeframe."""

    symbol = serializers.CharField(max_length=30, required=False)
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), default="1h")


class OnlineResetSerializer(SeriesSerializer):
    """POST /ml/online/reset: start over, optionally with another algorithm or settings."""

    algorithm = serializers.CharField(max_length=40, required=False)
    learning_rate = serializers.FloatField(required=False)
    l2 = serializers.FloatField(required=False)
    horizon = serializers.IntegerField(required=False)
    threshold = serializers.FloatField(required=False)
    drift_delta = serializers.FloatField(required=False)
    window = serializers.IntegerField(required=False)


class PerformanceQuerySerializer(SymbolQuerySerializer):
    """GET /ml/performance/history."""

    model = serializers.ChoiceField(choices=["batch", "online", "hybrid"], required=False)
    since = serializers.CharField(required=False, help_text="epoch ms or ISO-8601")
