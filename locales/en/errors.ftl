# API error messages (English: the source of truth).
#
# Each id is `error-` followed by a stable error code (ARCHITECTURE.md §10.10): clients
# branch on the code, people read this text. Translators change the text only, never an
# id or a variable name; a unit test in sq-i18n checks every locale has the same ids and
# variables as this file.

## Authentication and permissions

error-unauthenticated = Please sign in: this request needs an access token or an API key.
error-invalid_credentials = The e-mail address or password is incorrect.
error-invalid_token = The access token or API key is invalid or has expired.
error-token_reused = This refresh token has already been used. Please sign in again.
error-too_many_attempts = Too many attempts. Please wait a few minutes and try again.
# $scope: the permission the caller lacks, e.g. manage:tenant (kept untranslated).
error-forbidden = You do not have permission to do this (it requires { $scope }).

## Resources and ticket rules

error-not_found = The requested item was not found.
error-route_not_found = This address does not exist in the API.
error-method_not_allowed = This method is not allowed at this address.
error-conflict = This already exists.
error-queue_empty = No ticket is waiting.
error-queue_closed = This queue is not accepting new tickets at the moment.
error-illegal_transition = This action is not possible in the ticket's current state.

## Request format

error-malformed_json = The request body is not valid JSON.
error-unsupported_media_type = The request body must be JSON (Content-Type: application/json).
error-payload_too_large = The request body is too large.
error-invalid_request = The request has a missing or invalid value.
error-invalid_id = This identifier is not valid.
error-request_timeout = The request took too long. Please try again.

## Values

error-invalid_slug = Use 2 to 40 lower-case letters, digits or hyphens, with no hyphen at the start or end.
error-invalid_phone = Enter the phone number in international format, for example +254712345678.
error-invalid_locale = Enter a language code such as en, fr or pt-BR.
error-invalid_timezone = Enter a time zone such as Africa/Nairobi.
error-invalid_email = Enter a valid e-mail address.
error-invalid_prefix = Use 1 to 3 capital letters, for example A.
error-invalid_name = Enter a name of 1 to 120 characters.
error-invalid_channel = This channel is not supported.
error-invalid_role = This role does not exist.
error-invalid_status = This ticket status does not exist.
error-invalid_scope = This scope does not exist.
error-invalid_queue_status = A queue status is open, paused or closed.
error-invalid_agent_status = An agent status is available, serving, paused or offline.
error-invalid_actor = This actor is not valid.
error-weak_password = The password must have at least 8 characters.
error-site_required = Choose a site: a device belongs to one site.
error-scopes_required = Choose at least one scope.
error-invalid_duration = Durations must be greater than zero.
error-invalid_policy = This calling policy is not valid: weights must be greater than zero.
error-invalid_skill = A skill weight must be between 1 and 100.
error-queue_not_served = You cannot call from this queue: it is at another site or you have no skill for its service.
error-invalid_announcement = Enter an announcement of 1 to 280 characters on one line.
error-invalid_time_window = The end must be after the start.

## Server

error-internal_error = Something went wrong on our side. Please try again later.
error-service_unavailable = The service is temporarily unavailable. Please try again later.

## Channels and webhooks

error-invalid_channel_config = The channel configuration is not valid for its provider.
error-invalid_ussd = This USSD request is not valid.
error-invalid_webhook = The webhook body is not what the provider sends.
error-missing_signature = The webhook has no signature.
error-malformed_signature = The webhook signature is malformed.
error-bad_signature = The webhook signature does not match.
error-body_hash_mismatch = The webhook body does not match its signed hash.
error-messaging_disabled = Messaging channels are not enabled on this server.
