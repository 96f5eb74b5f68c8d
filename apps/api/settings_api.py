"""The REST API's Django REST framework and drf-spectacular settings (issue 21).

Star-imported by config/settings.py, so the shared settings file keeps one small block. Plain
constants only: nothing here may import Django models.
"""

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The API speaks Bearer keys only: a session cookie would make every endpoint a CSRF target.
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.permissions.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.api.throttles.KeyRateThrottle",
        "apps.api.throttles.OrgRateThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "apps.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Attribution API",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "DESCRIPTION": (
        "Log conversions against contacts, update a contact's conversion status, and read "
        "the organisation's contacts, calls, post-call forms, deals, payments and KPIs. "
        "Authenticate with `Authorization: Bearer <key>`; an org admin creates keys under "
        'Settings → API. Every error answers `{"error": {"code", "message", "fields"}}`.'
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConversionStatusEnum": "apps.api.models.ConversionStatus",
        "CallStatusEnum": "apps.meetings.models.Meeting.Status",
        "DealStatusEnum": "apps.deals.models.Deal.Status",
        "PaymentStatusEnum": "apps.payments.models.Payment.Status",
        "ProviderEnum": "apps.contacts.models.Provider",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key of a workspace or a personal read key.",
            }
        }
    },
    "SECURITY": [{"ApiKey": []}],
}
# Bodies larger than this are refused with 413 before they are parsed.
API_MAX_BODY_BYTES = 64 * 1024
# custom_data and a contact's conversion metadata, as compact JSON.
API_CUSTOM_DATA_MAX_BYTES = 8 * 1024
