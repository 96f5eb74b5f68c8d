"""One base class for every admin of tenant-owned rows.

Owners and admins of an org are staff users: they see and change only their own org's rows and
cannot pick, nor see the label of, another org (or another org's related rows) in any form
field, raw id, autocomplete, list filter or inline. Superusers are platform admins and see
everything. Every add, change and delete made here is audited ("admin.add", "admin.change",
"admin.delete") with each field's before and after, secrets masked.
"""

import json
import re

from django import forms
from django.apps import apps as registry
from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget, ManyToManyRawIdWidget
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import Http404

from apps.orgs.models import ADMIN_ROLES, AuditLog, Membership, Organization
from apps.orgs.services import audit_log_write


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


def admin_rows(request, model, rows: models.QuerySet | None = None) -> models.QuerySet:
    """The rows of ``model`` (of ``rows``, when given) the request's user may see or point at
    in admin: the one filter behind every changelist, form field, raw id and autocomplete."""
    rows = model._default_manager.all() if rows is None else rows
    if request.user.is_superuser:
        return rows
    orgs = admin_org_ids(request)
    path = _org_path(model)
    if path is not None:
        return rows.filter(**{f"{path}__in": orgs})
    if model._meta.label == "orgs.User":
        return rows.filter(memberships__org__in=orgs).distinct()
    # A model that belongs to no org could hold anyone's rows: closed until someone decides.
    return rows.none()


class _ScopedRawIds:
    """A raw-id box prints the label of the row whose id it holds, and that id comes from the
    query string or a refused POST: only a row of the user's own orgs is named."""

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            visible = self.rows.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        if not visible:
            return "", ""
        return super().label_and_url_for_value(value)


class OrgScopedRawIdWidget(_ScopedRawIds, ForeignKeyRawIdWidget):
    pass


class OrgScopedManyRawIdWidget(_ScopedRawIds, ManyToManyRawIdWidget):
    pass


class OrgScopedFieldsMixin:
    """Every field of a form that points at another row offers, shows and accepts only rows of
    the user's orgs, whatever its widget (select, raw id, autocomplete): one queryset is the
    choices, the validation and the labels. Shared by admin pages and their inlines."""

    def _is_raw_id(self, request, db_field) -> bool:
        # Django's own order: a field named for autocomplete gets that widget first.
        return db_field.name in self.raw_id_fields and db_field.name not in (
            self.get_autocomplete_fields(request)
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        rows = admin_rows(request, db_field.related_model).using(kwargs.get("using"))
        kwargs["queryset"] = rows
        if "widget" not in kwargs and self._is_raw_id(request, db_field):
            kwargs["widget"] = OrgScopedRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using"), rows=rows
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        rows = admin_rows(request, db_field.related_model).using(kwargs.get("using"))
        kwargs["queryset"] = rows
        if "widget" not in kwargs and self._is_raw_id(request, db_field):
            kwargs["widget"] = OrgScopedManyRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using"), rows=rows
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrgScopedInlineMixin(OrgScopedFieldsMixin):
    """Inlines follow the same rule as their page: owners and admins of the row's org."""

    def has_view_permission(self, request, obj=None):
        return _may(request, obj)

    def has_change_permission(self, request, obj=None):
        return _may(request, obj)

    def has_add_permission(self, request, obj=None):
        return _may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _may(request, obj)


# --- audit of admin edits ---------------------------------------------------------------------

MASKED = "[masked]"
# Secrets are masked by name as well as by type, so a new secret column is covered before
# anyone remembers to list it (credential values and hints, invitation tokens, passwords).
_SECRET_NAME = re.compile(r"encrypted|secret|password|token|hint|api_key", re.IGNORECASE)
_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def _secret(field) -> bool:
    return isinstance(field, models.BinaryField) or bool(_SECRET_NAME.search(field.name))


def _people(obj, depth: int = 2) -> list[models.Model]:
    """The erasable people (rows with ``erased_at``: contacts) a row is about: itself, or the
    ones it points at, directly or through one more row (a PCF through its call)."""
    found = [obj] if _is_person(type(obj)) else []
    if depth == 0:
        return found
    for field in obj._meta.concrete_fields:
        if not (field.many_to_one or field.one_to_one) or field.related_model is Organization:
            continue
        if getattr(obj, field.attname) is None:
            continue
        related = getattr(obj, field.name, None)
        if related is not None:
            found += _people(related, depth - 1)
    return found


def _is_person(model) -> bool:
    try:
        model._meta.get_field("erased_at")
    except FieldDoesNotExist:
        return False
    return True


class _Hidden:
    """A masked value: compared (so a changed secret shows as changed), never written."""

    def __init__(self, value):
        self.empty = value in (None, "", b"", {}, [])
        self._digest = hash(bytes(value) if isinstance(value, memoryview) else repr(value))

    def __eq__(self, other):
        return isinstance(other, _Hidden) and other._digest == self._digest

    def __hash__(self):
        return self._digest


def audit_values(obj) -> dict:
    """The row's columns as the audit log compares them: JSON values, with secrets, and the
    text of a person who was erased, held as _Hidden."""
    erased = any(person.erased_at is not None for person in _people(obj))
    values, plain = {}, {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or getattr(field, "auto_now", False):
            continue  # an updated_at moves on every save: the audit row has its own time
        value = field.value_from_object(obj)
        if _secret(field) or (erased and isinstance(field, _TEXT_FIELDS)):
            values[field.name] = _Hidden(value)
        else:
            plain[field.name] = value
    return {**values, **json.loads(json.dumps(plain, cls=DjangoJSONEncoder))}


_EMPTY = (None, "", [], {})


def _written(value):
    if isinstance(value, _Hidden):
        return None if value.empty else MASKED
    return value


def _row_org(obj) -> Organization | None:
    return obj if isinstance(obj, Organization) else getattr(obj, "org", None)


def _audit(request, obj, action: str, before: dict, after: dict) -> None:
    changes = {}
    for name in sorted({*before, *after}):
        old, new = _written(before.get(name)), _written(after.get(name))
        if before.get(name) == after.get(name) or (old in _EMPTY and new in _EMPTY):
            continue
        changes[name] = [old, new]
    org = _row_org(obj)
    if org is None or not changes:
        return
    # Whom the row is about, so that erasing them later masks what this entry holds of them.
    people = sorted({person.pk for person in _people(obj)})
    extra = {"people": people} if people else {}
    audit_log_write(
        org=org, actor=request.user, action=action, target=obj, changes=changes, **extra
    )


def admin_audit_forget(*, org: Organization, person_ids) -> int:
    """Masks the text that audited admin edits hold of the people ``person_ids`` (contact
    ids), as their erasure masks it everywhere else; who changed which field, and when, stays.
    Returns how many entries were masked."""
    ids = set(person_ids)
    masked = 0
    entries = AuditLog.objects.filter(org=org, action__startswith="admin.").filter(
        data__has_key="people"
    )
    for entry in entries.iterator():
        if not ids & set(entry.data["people"]):
            continue
        try:
            model = registry.get_model(entry.target_type)
        except (LookupError, ValueError):
            model = None
        for name, pair in entry.data.get("changes", {}).items():
            entry.data["changes"][name] = [
                MASKED if _personal(model, name) and value not in _EMPTY else value
                for value in pair
            ]
        entry.save(update_fields=["data"])
        masked += 1
    return masked


def _personal(model, name: str) -> bool:
    try:
        field = model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        field = None
    # A column the entry names but the model no longer has is masked: it may have been text.
    return field is None or isinstance(field, _TEXT_FIELDS)


class OrgScopedAdmin(OrgScopedFieldsMixin, admin.ModelAdmin):
    form = OrgScopedAdminForm
    list_per_page = 50

    # --- which rows -----------------------------------------------------------------------
    def get_queryset(self, request):
        return admin_rows(request, self.model, super().get_queryset(request))

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
        # Inline rows are audited like the page's own: read as stored before the save,
        # deletions written while the row still has its id.
        before = {}
        for sub in formset.initial_forms:
            stored = type(sub.instance)._default_manager.filter(pk=sub.instance.pk).first()
            if stored is None:
                continue
            if sub in formset.deleted_forms:
                _audit(request, stored, "admin.delete", audit_values(stored), {})
            elif sub.has_changed():
                before[stored.pk] = audit_values(stored)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            _audit(request, obj, "admin.add", {}, audit_values(self._stored(obj)))
        for obj, _fields in formset.changed_objects:
            if obj.pk in before:
                _audit(
                    request, obj, "admin.change", before[obj.pk], audit_values(self._stored(obj))
                )

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            if _org_path(self.model) == "org":
                filters.insert(0, "org")
            return filters
        # Django lists every row of a related model as a filter choice; these list only the
        # related rows that the user's own rows point at.
        return [self._scoped_filter(item) for item in filters]

    def _scoped_filter(self, item):
        if not isinstance(item, str):
            return item
        try:
            field = get_fields_from_path(self.model, item)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return item
        return (item, admin.RelatedOnlyFieldListFilter) if field.is_relation else item

    # --- audit ----------------------------------------------------------------------------
    # Django calls save_form before save_model (pages and list_editable alike), while the
    # database still holds the row as it was; log_* run after the save (or, for deletions,
    # before it) inside the same transaction. An admin's own save_model that bypasses super(),
    # or calls services, is audited all the same: the "after" is read back from the database.
    def save_form(self, request, form, change):
        if change and form.instance.pk is not None:
            stored = type(form.instance)._default_manager.filter(pk=form.instance.pk).first()
            if stored is not None:
                self._audit_before(request)[form.instance.pk] = audit_values(stored)
        return super().save_form(request, form, change)

    def _audit_before(self, request) -> dict:
        key = f"_admin_audit_{self.model._meta.label_lower}"
        if not hasattr(request, key):
            setattr(request, key, {})
        return getattr(request, key)

    def _stored(self, obj):
        return type(obj)._default_manager.filter(pk=obj.pk).first() or obj

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _audit(request, obj, "admin.add", {}, audit_values(self._stored(obj)))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        before = self._audit_before(request).pop(obj.pk, None)
        if before is not None:
            _audit(request, obj, "admin.change", before, audit_values(self._stored(obj)))
        return entry

    def log_deletions(self, request, queryset):
        rows = list(queryset)
        entries = super().log_deletions(request, rows)
        for obj in rows:
            _audit(request, obj, "admin.delete", audit_values(obj), {})
        return entries


class ReadOnlyAdminMixin:
    """Rows nobody adds, edits or deletes by hand in the admin (an append-only trail, a list
    only an action may change); listed and opened, never changed."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
