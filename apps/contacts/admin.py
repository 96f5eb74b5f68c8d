import json

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.contacts import privacy, services, suppression
from apps.contacts.models import (
    BlockedIdentifier,
    Contact,
    ContactMerge,
    Identifier,
    MergeCandidate,
    SourceRecord,
    Suppression,
    Touchpoint,
)
from apps.orgs.admin_base import (
    OrgScopedAdmin,
    OrgScopedAdminForm,
    OrgScopedInlineMixin,
    ReadOnlyAdminMixin,
    admin_org_ids,
)
from apps.orgs.models import Organization


class IdentifierForm(OrgScopedAdminForm):
    """A value typed here is stored as the resolver writes it: lookups and matching compare
    normalized values, so "(415) 555-0132" must become "+14155550132" or be refused."""

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value is not None:
            contact = cleaned.get("contact") or getattr(self.instance, "contact", None)
            org = getattr(contact, "org", None)
            try:
                cleaned["value"] = services.identifier_value_clean(
                    kind=kind,
                    value=value,
                    region=getattr(org, "default_region", "") or "US",
                    typed=not self.instance.pk or bool({"kind", "value"} & set(self.changed_data)),
                )
            except ValidationError as error:
                self.add_error("value", error)
        return cleaned


class IdentifierInline(OrgScopedInlineMixin, admin.TabularInline):
    model = Identifier
    form = IdentifierForm
    extra = 0
    fields = ["kind", "value", "raw", "is_primary", "shared", "source"]
    readonly_fields = ["raw"]


class MergeHistoryInline(OrgScopedInlineMixin, admin.TabularInline):
    model = ContactMerge
    fk_name = "winner"
    extra = 0
    can_delete = False
    verbose_name_plural = "merge history (contacts merged into this one)"
    fields = ["created_at", "loser", "actor", "reason", "undone_at", "open"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def open(self, obj):
        url = reverse("admin:contacts_contactmerge_change", args=[obj.pk])
        return format_html('<a href="{}">details / unmerge</a>', url)


def _named(contact) -> str:
    # Two people often share a name (a merge is usually of two "Sarah White"s): the id says
    # which row an admin is reading about.
    return f"{contact.display_name} (#{contact.pk})"


class MergedFilter(admin.SimpleListFilter):
    title = "merged"
    parameter_name = "merged"

    def lookups(self, request, model_admin):
        return [("live", "Live contacts"), ("away", "Merged into another")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(merged_into__isnull=True)
        if self.value() == "away":
            return queryset.filter(merged_into__isnull=False)
        return queryset


@admin.action(description="Merge the selected contacts into the one seen first")
def merge_selected(modeladmin, request, queryset):
    by_org = {}
    for contact in queryset:
        by_org.setdefault(contact.org, []).append(contact)
    if len(by_org) != 1:
        modeladmin.message_user(request, "Select contacts of one organisation.", messages.ERROR)
        return
    ((org, contacts),) = by_org.items()
    try:
        merges = services.contact_merge_many(org=org, contacts=contacts, actor=request.user)
    except services.IdentityError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    absorbed = ", ".join(_named(merge.loser) for merge in merges)
    modeladmin.message_user(
        request, f"Kept {_named(merges[0].winner)}; merged into it: {absorbed}."
    )


@admin.action(description="Export the selected people's data (GDPR, JSON)")
def export_selected(modeladmin, request, queryset):
    exports = [
        privacy.contact_export(org=contact.org, contact=contact, actor=request.user)
        for contact in queryset.select_related("org")
    ]
    response = HttpResponse(
        json.dumps(exports, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="personal-data-export.json"'
    return response


@admin.action(description="Erase the selected people's data (GDPR)")
def erase_selected(modeladmin, request, queryset):
    contacts = list(queryset.select_related("org"))
    if request.POST.get("confirm") != "yes":
        # Irreversible: a page that names who is erased and what stays, then a second click.
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Erase personal data",
            "contacts": contacts,
            "action": "erase_selected",
            "opts": modeladmin.model._meta,
            "selected": [c.pk for c in contacts],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/contacts/erase_confirmation.html", context)
    for contact in contacts:
        privacy.contact_erase(org=contact.org, contact=contact, actor=request.user)
    modeladmin.message_user(request, f"Erased the personal data of {len(contacts)} person(s).")
    return None


@admin.register(Contact)
class ContactAdmin(OrgScopedAdmin):
    actions = [merge_selected, export_selected, erase_selected]
    list_display = [
        "display_name",
        "primary_email",
        "primary_phone",
        "original_source",
        "original_campaign",
        "first_seen_at",
        "merged_state",
    ]
    list_filter = [MergedFilter, "original_source", "lead_status"]
    search_fields = [
        "first_name",
        "last_name",
        "primary_email",
        "primary_phone",
        "identifiers__value",
    ]
    date_hierarchy = "first_seen_at"
    inlines = [IdentifierInline, MergeHistoryInline]
    readonly_fields = ["merged_into", "erased_at", "field_sources", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["org", "first_name", "last_name", "company", "lead_status"]}),
        ("Primary identifiers", {"fields": ["primary_email", "primary_phone"]}),
        (
            "First touch",
            {
                "fields": [
                    "first_seen_at",
                    "original_source",
                    "original_medium",
                    "original_campaign",
                    "original_content",
                    "original_term",
                ]
            },
        ),
        (
            "History",
            {
                "fields": ["merged_into", "erased_at", "field_sources", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]

    @admin.display(description="merged", ordering="merged_into_id")
    def merged_state(self, obj):
        if not obj.merged_into_id:
            return "—"
        url = reverse("admin:contacts_contact_change", args=[obj.merged_into_id])
        return format_html('into <a href="{}">#{}</a>', url, obj.merged_into_id)

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.identifier_mailboxes_sync(contact=form.instance)
        services.contact_name_keys_sync(contact=form.instance)


@admin.register(Identifier)
class IdentifierAdmin(OrgScopedAdmin):
    form = IdentifierForm
    list_display = ["kind", "value", "contact", "is_primary", "shared", "source"]
    list_filter = ["kind", "shared", "source"]
    search_fields = ["value", "raw"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.identifier_mailboxes_sync(contact=obj.contact)


@admin.register(BlockedIdentifier)
class BlockedIdentifierAdmin(OrgScopedAdmin):
    list_display = ["kind", "value", "reason", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]


@admin.action(description="Lift: keep what comes next about the selected people (consented)")
def lift_selected(modeladmin, request, queryset):
    by_org: dict[int, list[int]] = {}
    for pk, org_id in queryset.filter(lifted_at__isnull=True).values_list("pk", "org_id"):
        by_org.setdefault(org_id, []).append(pk)
    lifted = people = 0
    for org in Organization.objects.filter(pk__in=by_org):
        counts = suppression.suppressions_lift(
            org=org, suppression_ids=by_org[org.pk], actor=request.user
        )
        lifted, people = lifted + counts["suppressions"], people + counts["people"]
    modeladmin.message_user(request, f"Lifted {lifted} suppression(s) of {people} person(s).")


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdminMixin, OrgScopedAdmin):
    """Read-only: rows come from erasure, and go only by the audited lift."""

    actions = [lift_selected]
    list_display = ["kind", "digest_start", "contact", "created_at", "lifted_at", "lifted_by"]
    list_filter = ["kind", ("lifted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["contact", "lifted_by"]
    search_fields = ["digest"]
    search_help_text = "An email, a phone or a provider id, found by its keyed hash."
    readonly_fields = ["org", "kind", "digest", "contact", "created_at", "lifted_at", "lifted_by"]

    @admin.display(description="hash")
    def digest_start(self, obj):
        return f"{obj.digest[:12]}…"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        # Only hashes are stored: what the admin types is hashed the same way.
        org = Organization.objects.filter(pk__in=admin_org_ids(request)).first()
        digests = suppression.search_digests(org=org, text=search_term)
        return queryset.filter(digest__in=digests), False


@admin.register(SourceRecord)
class SourceRecordAdmin(OrgScopedAdmin):
    list_display = ["provider", "object_type", "external_id", "contact", "occurred_at"]
    list_filter = ["provider", "object_type"]
    search_fields = ["external_id"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact"]


@admin.register(Touchpoint)
class TouchpointAdmin(OrgScopedAdmin):
    list_display = ["contact", "kind", "occurred_at", "utm_source", "utm_campaign"]
    list_filter = ["kind", "utm_source"]
    search_fields = ["utm_campaign", "contact__primary_email"]
    list_select_related = ["contact"]
    raw_id_fields = ["contact", "source_record"]


def _side(contact):
    identifiers = format_html_join(
        "", "<li>{}: {}{}</li>",
        ((i.get_kind_display(), i.value, " (shared)" if i.shared else "")
         for i in contact.identifiers.all()),
    )  # fmt: skip
    records = format_html_join(
        "", "<li>{} {} {}</li>",
        ((r.get_provider_display(), r.object_type, r.external_id)
         for r in contact.source_records.all()),
    )  # fmt: skip
    return format_html(
        "<h3>{}</h3><p>First seen {} · source {} / {}</p><p>Company: {}</p>"
        "<h4>Identifiers</h4><ul>{}</ul><h4>Source records</h4><ul>{}</ul>"
        "<p>{} call(s), {} deal(s), {} payment(s)</p>",
        contact.display_name, contact.first_seen_at or "—", contact.original_source or "—",
        contact.original_campaign or "—", contact.company or "—", identifiers,
        records or "—", contact.meetings.count(), contact.deals.count(),
        contact.payments.count(),
    )  # fmt: skip


@admin.action(description="Accept: merge each selected pair")
def accept_candidates(modeladmin, request, queryset):
    done, failed = [], []
    for candidate in queryset.select_related("contact_a", "contact_b", "org"):
        try:
            merge = services.merge_candidate_accept(candidate=candidate, actor=request.user)
            done.append(f"{_named(merge.loser)} into {_named(merge.winner)}")
        except services.IdentityError as exc:
            failed.append(f"{candidate}: {exc}")
    modeladmin.message_user(
        request, f"Merged {len(done)} pair(s)" + (f": {'; '.join(done)}." if done else ".")
    )
    for message in failed:
        modeladmin.message_user(request, message, messages.WARNING)


@admin.action(description="Reject: keep each selected pair apart")
def reject_candidates(modeladmin, request, queryset):
    done = 0
    for candidate in queryset.filter(status=MergeCandidate.Status.PENDING).select_related("org"):
        services.merge_candidate_reject(candidate=candidate, actor=request.user)
        done += 1
    modeladmin.message_user(request, f"Rejected {done} pair(s).")


@admin.register(MergeCandidate)
class MergeCandidateAdmin(OrgScopedAdmin):
    """The review queue: both contacts side by side, with the reasons and the score."""

    list_display = ["contact_a", "contact_b", "score", "reason_summary", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["contact_a__primary_email", "contact_b__primary_email"]
    list_select_related = ["contact_a", "contact_b"]
    actions = [accept_candidates, reject_candidates]
    readonly_fields = ["comparison", "status", "decided_by", "decided_at"]
    fields = ["comparison", "status", "decided_by", "decided_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="reasons")
    def reason_summary(self, obj):
        return "; ".join(obj.reasons)

    @admin.display(description="")
    def comparison(self, obj):
        buttons = ""
        if obj.status == MergeCandidate.Status.PENDING:
            buttons = mark_safe(
                '<p><button type="submit" name="_accept" class="default">Accept: merge</button> '
                '<button type="submit" name="_reject">Reject: keep apart</button></p>'
            )
        return format_html(
            # No style attributes: the CSP refuses them, and admin's CSS already tops cells.
            '<p>Score {} · {}</p><table><tr><td>{}</td><td>{}</td></tr></table>{}',
            obj.score, "; ".join(obj.reasons) or "—", _side(obj.contact_a),
            _side(obj.contact_b), buttons,
        )  # fmt: skip

    def change_view(self, request, object_id, form_url="", extra_context=None):
        decision = {"_accept", "_reject"} & set(request.POST)
        if request.method == "POST" and decision:
            self._404_unless_visible(request, object_id)
            candidate = self.get_queryset(request).get(pk=object_id)
            action = accept_candidates if "_accept" in decision else reject_candidates
            action(self, request, self.get_queryset(request).filter(pk=candidate.pk))
            return HttpResponseRedirect(reverse("admin:contacts_mergecandidate_changelist"))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.action(description="Unmerge: restore both contacts as they were")
def unmerge_selected(modeladmin, request, queryset):
    # Newest first: a later merge into the same contact has to be undone before an earlier one.
    for merge in queryset.select_related("org").order_by("-created_at"):
        try:
            services.contact_unmerge(org=merge.org, merge=merge, actor=request.user)
            modeladmin.message_user(
                request,
                f"Unmerged: {_named(merge.loser)} is its own contact again, apart from "
                f"{_named(merge.winner)}.",
            )
        except services.IdentityError as exc:
            modeladmin.message_user(request, f"{merge}: {exc}", messages.ERROR)


@admin.register(ContactMerge)
class ContactMergeAdmin(OrgScopedAdmin):
    list_display = ["created_at", "winner", "loser", "actor", "undone_at"]
    search_fields = ["winner__primary_email", "loser__primary_email"]
    list_select_related = ["winner", "loser", "actor"]
    actions = [unmerge_selected]
    fields = ["winner", "loser", "actor", "reason", "created_at", "undone_at", "undone_by",
              "what_moved"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    @admin.display(description="what moved")
    def what_moved(self, obj):
        counts = format_html_join(
            "", "<li>{}: {}</li>",
            ((name, len(value)) for name, value in obj.moved.items()
             if isinstance(value, list) and value),
        )  # fmt: skip
        button = ""
        if obj.undone_at is None:
            button = mark_safe('<button type="submit" name="_unmerge">Unmerge</button>')
        return format_html("<ul>{}</ul>{}", counts, button)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_unmerge" in request.POST:
            self._404_unless_visible(request, object_id)
            unmerge_selected(self, request, self.get_queryset(request).filter(pk=object_id))
            return HttpResponseRedirect(reverse("admin:contacts_contactmerge_changelist"))
        return super().change_view(request, object_id, form_url, extra_context)
