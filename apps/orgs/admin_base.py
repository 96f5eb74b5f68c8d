"""One base class for every admin of tenant-owned rows.

Owners and admins of an org are staff users: they see and change only their own org's rows and
cannot pick another org (or another org's related rows) in any form field. Superusers are
platform admins and see everything.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

from apps.orgs.models import ADMIN_ROLES, Membership, Organization


def admin_org_ids(request) -> set[int]:
    cache = getattr(request, "_admin_org_ids", None)
    if cache is None:
        cache = set(
            Membership.objects.filter(
                user=request.user, role__in=ADMIN_ROLES, user__is_active=True
            ).values_list("org_id", flat=True)
        )
        request._admin_org_ids = cache
    return cache


def _org_path(model) -> str | None:
    if model is Organization:
        return "pk"
    try:
        field = model._meta.get_field("org")
    except Exception:
        return None
    return "org" if field.related_model is Organization else None


class OrgScopedAdminForm(forms.ModelForm):
    """Rejects a related row from another org than the row's own (a second safety net)."""

    def clean(self):
        cleaned = super().clean()
        org = cleaned.get("org") or getattr(self.instance, "org", None)
        if org is None:
            return cleaned
        for name, value in cleaned.items():
            if (
                isinstance(value, models.Model)
                and name != "org"
                and getattr(value, "org_id", org.pk) != org.pk
            ):
                self.add_error(name, "This belongs to another organisation.")
        return cleaned


def _may(request, obj=None) -> bool:
    if not request.user.is_active or not request.user.is_staff:
        return False
    if request.user.is_superuser:
        return True
    orgs = admin_org_ids(request)
    if not orgs:
        return False
    if obj is None:
        return True
    org_id = obj.pk if isinstance(obj, Organization) else getattr(obj, "org_id", None)
    return org_id in orgs


class OrgScopedInlineMixin:
    """Inlines follow the same rule as their page: owners and admins of the row's org."""

    def has_view_permission(self, request, obj=None):
        return _may(request, obj)

    def has_change_permission(self, request, obj=None):
        return _may(request, obj)

    def has_add_permission(self, request, obj=None):
        return _may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _may(request, obj)


class OrgScopedAdmin(admin.ModelAdmin):
    form = OrgScopedAdminForm
    list_per_page = 50

    # --- which rows -----------------------------------------------------------------------
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        path = _org_path(self.model)
        if path is None:
            return qs.none()
        return qs.filter(**{f"{path}__in": admin_org_ids(request)})

    def _may(self, request, obj=None) -> bool:
        return _may(request, obj)

    def has_module_permission(self, request):
        return self._may(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_add_permission(self, request):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj)

    # A row outside the user's orgs is "not found", exactly like a missing id: never a redirect
    # with a message that confirms or denies anything.
    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

    def _404_unless_visible(self, request, object_id):
        try:
            visible = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        if not visible:
            raise Http404

    # Checked before Django's own permission checks, which would answer 403 for a row the user
    # may not delete and so tell "exists" from "does not".
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            self._404_unless_visible(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._404_unless_visible(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._404_unless_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # --- form fields ------------------------------------------------------------------------
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            related = db_field.related_model
            path = _org_path(related)
            orgs = admin_org_ids(request)
            if path is not None:
                kwargs["queryset"] = related._default_manager.filter(**{f"{path}__in": orgs})
            elif related._meta.label == "orgs.User":
                kwargs["queryset"] = related._default_manager.filter(
                    memberships__org__in=orgs
                ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        orgs = admin_org_ids(request)
        if not request.user.is_superuser and "org" in form.base_fields and len(orgs) == 1:
            field = form.base_fields["org"]
            field.initial = next(iter(orgs))
            field.widget = forms.HiddenInput()
        return form

    def save_formset(self, request, form, formset, change):
        # An inline has no org field to pick: a row added there belongs to its page's org.
        parent = form.instance
        org_id = parent.pk if isinstance(parent, Organization) else getattr(parent, "org_id", None)
        for sub in formset.forms:
            row = sub.instance
            if org_id and _org_path(type(row)) == "org" and row.org_id is None:
                row.org_id = org_id
        super().save_formset(request, form, formset, change)

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and _org_path(self.model) == "org":
            filters.insert(0, "org")
        return filters
