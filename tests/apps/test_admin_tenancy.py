"""Django admin across tenants: org B's owner never sees the label of an org A row, nor links one.

Every admin registration of an org-owned model is walked (from ``admin.site._registry``, so a
new admin is covered without anyone adding it here). On its add page and on the change page of
an org B row, each foreign-key and many-to-many field is given the id of an org A row, in the
query string and in a POST, and the page must show nothing of that row (its str(), the link to
it) and store nothing.
"""

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist
from django.forms import ModelChoiceField
from django.test import RequestFactory
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import Truncator

from apps.contacts.models import Identifier
from apps.deals.models import Deal
from apps.orgs.admin_base import OrgScopedAdmin
from apps.orgs.models import Organization
from tests.apps.admin_forms import form_data
from tests.apps.tenant_rows import tenant_rows
from tests.conftest import give_totp
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MARK_A = "Quagga-Alpha"
MARK_B = "Okapi-Bravo"


@pytest.fixture
def rows_a(team_a):
    return tenant_rows(team_a, MARK_A)


@pytest.fixture
def rows_b(team_b):
    return tenant_rows(team_b, MARK_B)


def _org_owned(model) -> bool:
    try:
        field = model._meta.get_field("org")
    except FieldDoesNotExist:
        return False
    return field.is_relation and field.related_model is Organization


def org_owned_registrations():
    found = [(m, ma) for m, ma in admin.site._registry.items() if _org_owned(m)]
    assert len(found) >= 25, "the walk no longer finds the org-owned admins"
    return found


def _relations(model):
    return [
        f
        for f in model._meta.get_fields()
        if f.concrete and (f.many_to_one or f.one_to_one or f.many_to_many)
    ]


def _row_of(model, rows):
    for row in rows.values():
        if type(row) is model:
            return row
    raise AssertionError(f"the walk has no {model.__name__} row to try")


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _foreign_traces(response, foreign) -> list[str]:
    """What the page shows of the org A rows ``foreign``: their labels or links to them."""
    body = response.content.decode()
    shown = []
    for row in foreign:
        label = str(row)
        for text in {label, Truncator(label).words(14)}:
            if escape(text) in body:
                shown.append(f"label {label!r}")
        if type(row) in admin.site._registry:
            link = _url(type(row), "change", row.pk)
            if f'href="{link}"' in body:
                shown.append(f"link {link}")
    return shown


def _foreign_value(field, rows_a):
    target = _row_of(field.related_model, rows_a)
    value = getattr(target, field.target_field.attname) if not field.many_to_many else target.pk
    return target, str(value)


def _refused_as_unknown(response, field: str, value: str) -> bool:
    """The error a foreign id gets is the one a missing id gets: it confirms nothing."""
    form = response.context["adminform"].form
    message = form.fields[field].error_messages["invalid_choice"] % {"value": value}
    return form.errors.get(field) == [message]


def _stored(model, pk, fields):
    row = model._default_manager.get(pk=pk)
    return {
        f.name: (
            sorted(row_pk for row_pk in getattr(row, f.name).values_list("pk", flat=True))
            if f.many_to_many
            else getattr(row, f.attname)
        )
        for f in fields
    }


def test_org_b_admin_pages_show_and_store_nothing_of_org_a(client, outsider, rows_a, rows_b):
    client.force_login(outsider)
    leaks, driven = [], 0
    for model, _model_admin in org_owned_registrations():
        relations = _relations(model)
        foreign = {f.name: _foreign_value(f, rows_a) for f in relations}
        foreign_rows = [target for target, _ in foreign.values()]
        name = model._meta.label

        changelist = client.get(_url(model, "changelist"))
        assert changelist.status_code in (200, 403), f"{name} changelist"
        leaks += [f"{name} changelist: {t}" for t in _foreign_traces(changelist, foreign_rows)]

        add = client.get(_url(model, "add"))
        if add.status_code == 200:
            query = urlencode({field: value for field, (_, value) in foreign.items()})
            page = client.get(f"{_url(model, 'add')}?{query}")
            assert page.status_code == 200, f"{name} add ?{query}"
            leaks += [f"{name} add ?{query}: {t}" for t in _foreign_traces(page, foreign_rows)]
            form_fields = add.context["adminform"].form.fields
            before = model._default_manager.count()
            for field, (target, value) in foreign.items():
                if field not in form_fields:
                    continue
                response = client.post(_url(model, "add"), {**form_data(add), field: [value]})
                driven += 1
                assert response.status_code == 200, f"{name} add: POST {field}={value} was kept"
                assert _refused_as_unknown(response, field, value), (
                    f"{name} add: {field}={value} of org A was not refused as an unknown id"
                )
                leaks += [
                    f"{name} add POST {field}: {t}" for t in _foreign_traces(response, [target])
                ]
            assert model._default_manager.count() == before, f"{name} add stored a row"
        else:
            assert add.status_code == 403, f"{name} add: {add.status_code}"

        own = _row_of(model, rows_b)
        change_url = _url(model, "change", own.pk)
        query = urlencode({field: value for field, (_, value) in foreign.items()})
        change = client.get(f"{change_url}?{query}")
        assert change.status_code == 200, f"{name} change: {change.status_code}"
        leaks += [f"{name} change ?{query}: {t}" for t in _foreign_traces(change, foreign_rows)]
        editable = [f for f in relations if f.name in change.context["adminform"].form.fields]
        stored = _stored(model, own.pk, relations)
        for field in editable:
            target, value = foreign[field.name]
            response = client.post(change_url, {**form_data(change), field.name: [value]})
            driven += 1
            assert response.status_code == 200, f"{name} change: POST {field.name}={value} was kept"
            assert _refused_as_unknown(response, field.name, value), (
                f"{name} change: {field.name}={value} of org A was not refused as an unknown id"
            )
            leaks += [
                f"{name} change POST {field.name}: {t}" for t in _foreign_traces(response, [target])
            ]
        assert _stored(model, own.pk, relations) == stored, f"{name} change stored org A's row"
    assert driven >= 40, f"only {driven} foreign ids were posted: the walk lost its forms"
    assert not leaks, "org B's admin shows org A's rows:\n" + "\n".join(leaks)


def test_an_own_row_goes_through_the_same_form(client, outsider, rows_a, rows_b):
    # The refusals above are about the org, not about the form: org B's own contact is taken.
    client.force_login(outsider)
    contact = rows_b["contact"]
    page = client.get(f"{_url(Identifier, 'add')}?contact={contact.pk}")
    assert escape(str(contact)) in page.content.decode()
    response = client.post(
        _url(Identifier, "add"),
        {"org": outsider.memberships.get().org_id, "contact": contact.pk, "kind": "email",
         "value": "second@bravo.example", "source": "manual"},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Identifier.objects.filter(contact=contact, value="second@bravo.example").exists()


def test_a_platform_superuser_still_sees_every_orgs_rows(client, rows_a, team_b):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    give_totp(superuser)  # two-factor is required of superusers before the admin
    client.force_login(superuser)
    contact = rows_a["contact"]
    page = client.get(f"{_url(Identifier, 'add')}?contact={contact.pk}")
    assert _foreign_traces(page, [contact]), "a superuser sees the contact a raw id names"
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "deals", "model_name": "deal", "field_name": "contact", "term": MARK_A},
    )
    assert [r["id"] for r in response.json()["results"]] == [str(contact.pk)]


def test_every_form_field_offers_only_the_orgs_rows(outsider, rows_a, rows_b):
    """Form and inline fields, whatever their widget: the choices themselves are scoped."""
    request = RequestFactory().get("/admin/")
    request.user = outsider
    checked = 0
    for model, model_admin in org_owned_registrations():
        own = _row_of(model, rows_b)
        forms = [model_admin.get_form(request, own, change=True)]
        forms += [
            inline.get_formset(request, own).form
            for inline in model_admin.get_inline_instances(request, own)
        ]
        for form in forms:
            for name, field in form.base_fields.items():
                if not isinstance(field, ModelChoiceField):
                    continue
                foreign = _row_of(field.queryset.model, rows_a)
                assert not field.queryset.filter(pk=foreign.pk).exists(), (
                    f"{model._meta.label}: {form.__name__}.{name} offers org A's {foreign!r}"
                )
                if isinstance(field.widget, ForeignKeyRawIdWidget):
                    assert field.widget.label_and_url_for_value(foreign.pk) == ("", "")
                checked += 1
    assert checked >= 40


def test_autocomplete_answers_with_the_orgs_rows_only(client, outsider, rows_a, rows_b):
    client.force_login(outsider)
    asked = 0
    for model, _model_admin in org_owned_registrations():
        for field in _relations(model):
            remote_admin = admin.site._registry.get(field.related_model)
            if remote_admin is None or not remote_admin.search_fields:
                continue
            foreign = _row_of(field.related_model, rows_a)
            params = {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field.name,
            }
            response = client.get(reverse("admin:autocomplete"), {**params, "term": ""})
            asked += 1
            if response.status_code == 403:
                continue  # a model org admins may not see at all (users)
            ids = {r["id"] for r in response.json()["results"]}
            assert str(foreign.pk) not in ids, f"{params} answers with org A's {foreign}"
            own = _row_of(field.related_model, rows_b)
            assert str(own.pk) in ids, f"{params} does not answer with org B's own {own}"
    assert asked >= 20


def test_a_member_without_admin_access_gets_a_clear_refusal_not_a_loop(client, team_b):
    client.force_login(team_b.manager)  # signed in, not staff
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403
    assert "has no access to the admin" in response.content.decode()
    assert len(response.redirect_chain) <= 1


def test_anonymous_visitors_of_admin_still_sign_in_through_the_site(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert response.status_code == 200


def test_a_list_filter_over_a_related_model_lists_only_the_orgs_rows(outsider, rows_a, rows_b):
    class DealsByContact(OrgScopedAdmin):
        list_filter = ["contact", "closer"]

    model_admin = DealsByContact(Deal, admin.AdminSite(name="tenancy-filters"))
    request = RequestFactory().get("/admin/deals/deal/")
    request.user = outsider
    changelist = model_admin.get_changelist_instance(request)
    shown = {
        str(choice["display"])
        for spec in changelist.filter_specs
        for choice in spec.choices(changelist)
    }
    assert str(rows_b["contact"]) in shown and str(rows_b["team_member"]) in shown
    assert str(rows_a["contact"]) not in shown and str(rows_a["team_member"]) not in shown
