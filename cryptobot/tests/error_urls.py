"""A URLconf for the error-handling tests only: views that fail on purpose."""

from django.urls import include, path
from rest_framework.views import APIView


def broken_page(request):
    raise RuntimeError("secret internals: password=hunter2")


class BrokenApi(APIView):
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2")


urlpatterns = [
    path("test/broken-page", broken_page),
    path("test/broken-api", BrokenApi.as_view()),
    path("", include("cryptobot.urls")),
]
handler404 = "cryptobot.api.errors.json_404"
handler500 = "cryptobot.api.errors.json_500"
