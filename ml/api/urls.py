"""Model and ML routes (see docs/API.md, sections Models and ML)."""

from django.urls import path

from ml.api import hybrid_views as h
from ml.api import views as v

urlpatterns = [
    path("model/versions", v.ModelVersionListApi.as_view(), name="model-versions"),
    path(
        "model/versions/<int:version_id>",
        v.ModelVersionDetailApi.as_view(),
        name="model-version-detail",
    ),
    path("model/active_version", v.ActiveVersionApi.as_view(), name="model-active"),
    path("model/predict_batch", v.PredictBatchApi.as_view(), name="model-predict-batch"),
    path("model/upload_and_retrain", v.UploadAndRetrainApi.as_view(), name="model-upload"),
    path("upload_csv", v.UploadAndRetrainApi.as_view(), name="upload-csv"),
    path("upload_status/<str:upload_id>", v.UploadStatusApi.as_view(), name="upload-status"),
    path("model/metrics", v.ModelMetricsApi.as_view(), name="model-metrics"),
    path("model/feature_importance", v.FeatureImportanceApi.as_view(), name="model-importance"),
    path("model/analytics", v.ModelAnalyticsApi.as_view(), name="model-analytics"),
    path("model/logs", v.ModelLogsApi.as_view(), name="model-logs"),
    path("model/errors", v.ModelErrorsApi.as_view(), name="model-errors"),
    path("ml/predict", v.PredictApi.as_view(), name="ml-predict"),
    path("ml/retrain", v.RetrainApi.as_view(), name="ml-retrain"),
    path("ml/training/<int:run_id>", v.TrainingRunApi.as_view(), name="ml-training-run"),
    path("ml/hybrid/status", h.HybridStatusApi.as_view(), name="ml-hybrid-status"),
    path("ml/hybrid/predict", h.HybridPredictApi.as_view(), name="ml-hybrid-predict"),
    path("ml/hybrid/config", h.HybridConfigApi.as_view(), name="ml-hybrid-config"),
    path("ml/online/stats", h.OnlineStatsApi.as_view(), name="ml-online-stats"),
    path("ml/online/reset", h.OnlineResetApi.as_view(), name="ml-online-reset"),
    path("ml/online/pause", h.OnlinePauseApi.as_view(), name="ml-online-pause"),
    path("ml/online/resume", h.OnlineResumeApi.as_view(), name="ml-online-resume"),
    path(
        "ml/data_collection/stats",
        h.DataCollectionStatsApi.as_view(),
        name="ml-collection-stats",
    ),
    path(
        "ml/data_collection/start",
        h.DataCollectionStartApi.as_view(),
        name="ml-collection-start",
    ),
    path("ml/data_collection/stop", h.DataCollectionStopApi.as_view(), name="ml-collection-stop"),
    path(
        "ml/performance/history",
        h.PerformanceHistoryApi.as_view(),
        name="ml-performance-history",
    ),
]
