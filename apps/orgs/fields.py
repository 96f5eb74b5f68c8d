"""Model fields shared by the apps."""

from django.db import models


class HttpsURLField(models.URLField):
    """A URL field whose forms read a URL typed without a scheme as https.

    Django 6's default, asked for on the field so that every form built from it (admin or ours)
    agrees, without the transitional FORMS_URLFIELD_ASSUME_HTTPS setting.
    """

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})
