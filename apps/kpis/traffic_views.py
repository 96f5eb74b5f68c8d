"""Traffic types settings page (owners and admins): name a kind of traffic, list its sources."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.kpis.models import TrafficType
from apps.kpis.traffic import traffic_type_delete, traffic_type_save
from apps.orgs.access import get_object_for_member, member_required, tenant_object
from apps.orgs.models import ADMIN_ROLES


class TrafficTypeForm(forms.Form):
    name = forms.CharField(max_length=60)
    sources = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="UTM sources or CRM lead sources, one per line or comma-separated.",
    )
    position = forms.IntegerField(min_value=0, max_value=1000, initial=100)

    def clean_sources(self):
        raw = self.cleaned_data["sources"].replace(",", "\n")
        return [line.strip() for line in raw.splitlines() if line.strip()]


@member_required(roles=ADMIN_ROLES)
@require_http_methods(["GET", "POST"])
def traffic_types(request):
    org = request.org
    form = TrafficTypeForm()
    if request.method == "POST":
        form = TrafficTypeForm(request.POST)
        if form.is_valid():
            try:
                traffic_type_save(org=org, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Traffic type saved.")
                return redirect("kpis:traffic_types")
    return render(
        request,
        "kpis/traffic_types.html",
        {"form": form, "types": TrafficType.objects.for_org(org)},
    )


@member_required(roles=ADMIN_ROLES)
@tenant_object(TrafficType)
def traffic_type_remove(request, pk: int):
    traffic = get_object_for_member(TrafficType.objects.for_org(request.org), pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    traffic_type_delete(traffic=traffic, actor=request.user)
    messages.success(request, f"Traffic type {traffic.name} deleted.")
    return redirect("kpis:traffic_types")
