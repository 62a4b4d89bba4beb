"""Configuration from the environment or a `.env` file, checked once at start-up.

A missing or malformed setting must produce one plain line naming the variable (the CLI exits 2),
never a traceback: the person reading it is setting the bot up, not debugging it.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language, parse_language
from storage.crypto import FieldCipher, parse_key

README_SETUP = "see 'Set up in Slack' in the README"


class SettingsError(Exception):
    """One line a human can act on."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekdays(value: str) -> frozenset[int]:
    """'Mon-Fri', 'Mon,Wed,Fri', 'Sun-Tue' (wrapping) → weekday numbers, Monday = 0."""
    days: set[int] = set()
    for part in value.replace(" ", "").lower().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first[:3] not in WEEKDAYS or (last and last[:3] not in WEEKDAYS):
            raise ValueError("must list weekdays like Mon-Fri or Mon,Wed,Fri")
        start = WEEKDAYS.index(first[:3])
        end = WEEKDAYS.index(last[:3]) if last else start
        days.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    if not days:
        raise ValueError("must name at least one weekday, e.g. Mon-Fri")
    return frozenset(days)


def parse_summary_languages(value: str) -> tuple[Language, dict[str, Language]]:
    """'zh' or 'C012AB3CD:zh,C045EF6GH:en' → (language for unnamed channels, per-channel ones)."""
    default: Language = DEFAULT_LANGUAGE
    per_channel: dict[str, Language] = {}
    choices = "/".join(LANGUAGES)
    for part in _split_ids(value):
        channel, _, code = part.rpartition(":")
        language = parse_language(code)
        if language is None:
            raise ValueError(f"has '{code}', which is not a language ({choices})")
        if not channel:
            default = language
        elif channel[:1] in ("C", "G") and channel.isalnum():
            per_channel[channel] = language
        else:
            raise ValueError(f"has '{part}'; write a language ({choices}) or CHANNEL_ID:{choices}")
    return default, per_channel


def _split_ids(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    database_url: str = "sqlite:///followup-bot.db"
    slack_api_url: str | None = None
    host: str = "0.0.0.0"  # noqa: S104 - a Slack app in HTTP mode must be reachable by Slack
    port: Annotated[int, Field(ge=1, le=65535)] = 3000
    http_threads: Annotated[int, Field(ge=1, le=64)] = 8
    default_tz: str = "UTC"
    default_phone_region: str = "CN"
    default_remind_hour: time = time(9, 0)
    log_level: str = "INFO"
    admin_user_ids: str = ""
    remind_sweep_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    remind_digest_over: Annotated[int, Field(ge=1, le=1000)] = 5
    remind_lease_seconds: Annotated[int, Field(ge=10, le=3600)] = 120
    escalate_after_hours: Annotated[int, Field(ge=1, le=24 * 90)] = 48
    summary_channels: str = ""
    summary_time: time = time(9, 0)
    summary_tz: str | None = None
    summary_days: str = "Mon-Fri"
    # Closed follow-ups older than this many days are deleted (hourly check); unset keeps all.
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    # "zh" for every summary channel, or per channel: "C012AB3CD:zh,C045EF6GH:en" (default en).
    summary_lang: str = "en"
    # Encrypts phone, email and notes at rest (storage/crypto.py); unset stores them in clear.
    field_encryption_key: SecretStr | None = None
    # Comma-separated keys used before, for `followup-bot rotate-key` to decrypt with.
    field_encryption_old_keys: SecretStr | None = None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        # WebClient joins base_url + method name, so the base must end with a slash.
        return value if value.endswith("/") else value + "/"

    @field_validator("default_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from None
        return value

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region such as CN or US")
        return region

    @field_validator("default_remind_hour", mode="before")
    @classmethod
    def _hour_or_hh_mm(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            return time(int(value.strip()), 0)
        return value

    @field_validator("field_encryption_key")
    @classmethod
    def _one_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_key(value.get_secret_value())
        return value

    @field_validator("field_encryption_old_keys")
    @classmethod
    def _old_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not _split_ids(value.get_secret_value()):
            return None
        for key in _split_ids(value.get_secret_value()):
            try:
                parse_key(key)
            except ValueError as error:
                raise ValueError(f"each key {error}") from None
        return value

    def field_cipher(self) -> FieldCipher:
        """Encrypts with FIELD_ENCRYPTION_KEY (clear text without one); decrypts with it or with
        an old key."""
        current = self.field_encryption_key
        old = self.field_encryption_old_keys
        return FieldCipher.from_keys(
            current.get_secret_value().strip() if current else None,
            _split_ids(old.get_secret_value()) if old else (),
        )

    @model_validator(mode="after")
    def _signing_secret_for_http(self) -> Settings:
        if self.slack_app_token is None and not self.slack_signing_secret:
            raise ValueError(
                "SLACK_SIGNING_SECRET is missing — HTTP mode needs it to verify requests "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )
        return self

    @field_validator("summary_channels")
    @classmethod
    def _channel_id_list(cls, value: str) -> str:
        for channel_id in _split_ids(value):
            if channel_id[:1] not in ("C", "G") or not channel_id.isalnum():
                raise ValueError(f"has '{channel_id}', which is not a channel id like C012AB3CD")
        return value

    @field_validator("summary_lang")
    @classmethod
    def _summary_languages(cls, value: str) -> str:
        parse_summary_languages(value)
        return value

    @field_validator("summary_tz")
    @classmethod
    def _summary_zone(cls, value: str | None) -> str | None:
        return cls._known_zone(value) if value else None

    @field_validator("summary_days")
    @classmethod
    def _weekday_set(cls, value: str) -> str:
        parse_weekdays(value)
        return value

    @field_validator("summary_time", mode="before")
    @classmethod
    def _summary_hour(cls, value: object) -> object:
        return cls._hour_or_hh_mm(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("admin_user_ids")
    @classmethod
    def _user_id_list(cls, value: str) -> str:
        for user_id in _split_ids(value):
            if user_id[:1] not in ("U", "W") or not user_id.isalnum():
                raise ValueError(f"has '{user_id}', which is not a Slack user id like U012AB3CD")
        return value

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(_split_ids(self.admin_user_ids))

    @property
    def summary_channel_ids(self) -> list[str]:
        return _split_ids(self.summary_channels)

    def summary_language(self, channel_id: str) -> Language:
        default, per_channel = parse_summary_languages(self.summary_lang)
        return per_channel.get(channel_id, default)

    @property
    def summary_zone(self) -> ZoneInfo:
        return ZoneInfo(self.summary_tz or self.default_tz)

    @property
    def summary_weekdays(self) -> frozenset[int]:
        return parse_weekdays(self.summary_days)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_tz)


def describe_error(error: ValidationError) -> str:
    """The first problem as one line: which variable, what is wrong, where to read more."""
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    if not location:
        return f"{message}; {README_SETUP}."
    variable = location[0].upper()
    if first.get("type") == "missing":
        return f"{variable} is missing — set it in the environment or .env; {README_SETUP}."
    return f"{variable} is invalid: {message}; {README_SETUP}."


def load_settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None
