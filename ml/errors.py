"""The ML app's refusals, as the API answers them (cryptobot/api/errors.py renders them)."""

from __future__ import annotations

from cryptobot.api.errors import ApiError, Conflict, NotFound
from ml.csv_io import CsvError


class CsvRejected(ApiError):
    """An uploaded CSV that is not a valid candle file; nothing of it was kept."""

    code = "invalid_csv"

    def __init__(self, error: CsvError) -> None:
        details = {"reason": error.code, "row": error.row, "column": error.column}
        super().__init__(error.message, details=details, code=f"csv_{error.code}")


class NoActiveModel(NotFound):
    code = "no_active_model"

    def __init__(self, symbol: str, timeframe: str) -> None:
        super().__init__(
            f"No model is active for {symbol} {timeframe}. Train one (POST /ml/retrain) or "
            "activate a version (POST /model/active_version).",
            details={"symbol": symbol, "timeframe": timeframe},
        )


class ArtifactInvalid(Conflict):
    """The version's artifact file failed its integrity check and was not loaded."""

    code = "model_artifact_invalid"


class NotEnoughCandles(Conflict):
    code = "not_enough_candles"
