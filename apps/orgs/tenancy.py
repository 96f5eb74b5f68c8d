"""The tenancy building blocks every org-owned model and view uses."""

from django.db import models


class OrgQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(org=org)


class OrgOwnedModel(models.Model):
    """Every row a customer owns carries its organisation; reach rows through ``for_org``."""

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE)

    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True
