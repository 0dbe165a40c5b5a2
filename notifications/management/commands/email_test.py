"""manage.py email_test USERNAME [--send]: check a user's SMTP settings from the shell."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cryptobot.api.errors import ApiError
from notifications.services.email import email_send_test, email_test


class Command(BaseCommand):
    help = "Log in to a user's SMTP server (nothing sent), or with --send send a test e-mail."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--send", action="store_true", help="send one test e-mail")

    def handle(self, *args, username: str, send: bool, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            result = email_send_test(user=user) if send else email_test(user=user, overrides={})
        except ApiError as exc:
            answer = exc.details.get("smtp_answer")
            raise CommandError(exc.message + (f" (server: {answer})" if answer else "")) from exc
        self.stdout.write(self.style.SUCCESS(result["message"]))
        if result.get("server_answer"):
            self.stdout.write(f"server: {result['server_answer']}")
