"""Page routes: sign-in/out, the shell and the profile (the JSON API lives in */api/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path(
        "login",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only, so a link or prefetch cannot sign anyone out.
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("profile", views.profile_page, name="profile"),
    path("profile/token/rotate", views.profile_token_rotate, name="profile-token-rotate"),
    # Not /api_keys: that path is the JSON API's (trading/api/urls.py).
    path("profile/api-keys", views.api_keys_page, name="api-keys"),
    path("", views.shell_page, name="shell"),
]
