from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from apps.forecast.selectors import rep_open_deals, with_probabilities
from apps.kpis.activity import rep_activity
from apps.kpis.selectors import kpi_summary
from apps.meetings import exports, selectors, services
from apps.meetings.call_filters import CallFilterForm, meeting_list_filtered
from apps.meetings.forms import CallTypeRuleForm, PostCallFormForm, pcf_initial
from apps.meetings.models import CallTypeRule, Meeting, PostCallForm
from apps.orgs.access import (
    get_object_for_member,
    is_rep,
    member_required,
    rep_side,
    rep_team_member,
    sees_money,
    tenant_object,
)
from apps.orgs.calendar import month_bounds, org_today
from apps.orgs.csv import csv_response
from apps.orgs.models import ADMIN_ROLES, MANAGER_ROLES, Role, TeamMember
from attribution.kpis.metrics import format_metric, metric_value

# Everyone but viewers may file a PCF; whose calls a rep files is the selectors' business.
PCF_WRITER_ROLES = frozenset(Role.values) - {Role.VIEWER}


@member_required()
@require_GET
def call_list(request):
    org = request.org
    form = CallFilterForm(request.GET, org=org)
    filters = form.filters()
    qs = meeting_list_filtered(membership=request.membership, filters=filters)
    if request.GET.get("format") == "csv":
        return _calls_csv(request, qs, request.GET.get("table", "calls"))
    page = Paginator(
        qs.select_related("contact", "closer", "setter", "pcf").order_by("-scheduled_at", "-pk"),
        50,
    ).get_page(request.GET.get("page"))
    page.object_list = with_probabilities(org=org, rows=page.object_list, kind="call")
    query = request.GET.copy()
    for key in ("page", "format", "table"):
        query.pop(key, None)
    context = {
        "page": page,
        "form": form,
        "filters": filters,
        "query": query.urlencode(),
        "shows_money": sees_money(request.membership),
        "rep": is_rep(request.membership),
    }
    template = "meetings/call_list.html#results" if request.htmx else "meetings/call_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _calls_csv(request, meetings, table: str):
    org = request.org
    stamp = timezone.localdate(timezone=org.tzinfo)
    if table == "calls":
        return csv_response(
            f"calls-{stamp}.csv", exports.CALL_HEADER, exports.call_rows(org=org, meetings=meetings)
        )
    if table == "pcfs":
        if not sees_money(request.membership):  # PCFs carry cash and contract values
            raise PermissionDenied
        header, rows = exports.pcf_table(org=org, meetings=meetings)
        return csv_response(f"pcfs-{stamp}.csv", header, rows)
    raise Http404("No such table.")


@member_required()
@tenant_object(Meeting)
@require_GET
def call_detail(request, pk: int):
    meeting = selectors.get_meeting_for_member(request, pk)
    pcf = PostCallForm.objects.filter(meeting=meeting).first()
    return render(
        request,
        "meetings/call_detail.html",
        {
            "meeting": meeting,
            "pcf": pcf,
            "custom_answers": selectors.pcf_custom_answers(
                org=request.org, custom=pcf.custom if pcf else None
            ),
            "can_write": selectors.pcf_writable_by_member(
                membership=request.membership, meeting=meeting
            ),
            "shows_money": sees_money(request.membership),
            "can_manage": request.membership.can_manage,
        },
    )


def _post_only():
    # POST-only views taking a pk look the row up first, so a foreign id is 404 whatever the method.
    return HttpResponseNotAllowed(["POST"])


# --- the post-call form -----------------------------------------------------------------------


def _pcf_page(request, *, meeting: Meeting, author: TeamMember | None, actor, action_url: str):
    """GET shows the form, POST submits it; HTMX requests get the form partial back."""
    org = meeting.org
    pcf = PostCallForm.objects.filter(meeting=meeting).first()
    config = services.pcf_config_for(org=org)
    kwargs = {
        "outcomes": [str(o) for o in config.outcomes or []],
        "custom_specs": services.pcf_custom_specs(org=org),
    }
    status = 200
    saved = False
    if request.method == "POST":
        form = PostCallFormForm(request.POST, **kwargs)
        if form.is_valid():
            try:
                pcf = services.pcf_submit(
                    org=org, meeting=meeting, author=author, data=form.service_data(), actor=actor
                )
            except services.PcfLocked as exc:
                form.add_error(None, str(exc))
                status = 409
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                saved = True
                form = PostCallFormForm(initial=pcf_initial(pcf), **kwargs)
        if not saved and status == 200:
            status = 422 if request.htmx else 200
    else:
        form = PostCallFormForm(initial=pcf_initial(pcf), **kwargs)
    locked = pcf is not None and pcf.locked_at is not None
    context = {
        "meeting": meeting,
        "pcf": pcf,
        "form": form,
        "locked": locked,
        "saved": saved,
        "action_url": action_url,
    }
    template = "meetings/pcf.html#pcf-form" if request.htmx else "meetings/pcf.html"
    if saved and not request.htmx:
        messages.success(request, "Post-call form saved.")
    return render(request, template, context, status=status)


@member_required(roles=PCF_WRITER_ROLES)
@tenant_object(Meeting)
@require_http_methods(["GET", "POST"])
def pcf_form(request, pk: int):
    meeting = selectors.get_meeting_for_pcf(request, pk)
    author = rep_team_member(request.membership)
    return _pcf_page(
        request, meeting=meeting, author=author, actor=request.user, action_url=request.path
    )


@member_required(roles=MANAGER_ROLES)
@tenant_object(Meeting)
def pcf_lock(request, pk: int):
    meeting = selectors.get_meeting_for_member(request, pk)
    if request.method != "POST":
        return _post_only()
    pcf = PostCallForm.objects.filter(meeting=meeting).first()
    if pcf is None:
        raise Http404
    if request.POST.get("unlock"):
        services.pcf_unlock(pcf=pcf, actor=request.user)
        messages.success(request, "Post-call form unlocked.")
    else:
        services.pcf_lock(pcf=pcf, actor=request.user)
        messages.success(request, "Post-call form locked.")
    return redirect("meetings:detail", pk=meeting.pk)


# --- call-type mapping (admins) -------------------------------------------------------------------


@member_required(roles=ADMIN_ROLES)
@require_http_methods(["GET", "POST"])
def call_type_rules(request):
    org = request.org
    form = CallTypeRuleForm()
    if request.method == "POST":
        if request.POST.get("reclassify"):
            changed = services.org_reclassify_meetings(org=org, actor=request.user)
            messages.success(request, f"{changed} call(s) changed type.")
            return redirect("meetings:types")
        form = CallTypeRuleForm(request.POST)
        if form.is_valid():
            services.call_type_rule_create(org=org, actor=request.user, **form.cleaned_data)
            messages.success(request, "Rule added.")
            return redirect("meetings:types")
    return render(
        request,
        "meetings/call_types.html",
        {"form": form, "rules": CallTypeRule.objects.for_org(org)},
    )


@member_required(roles=ADMIN_ROLES)
@tenant_object(CallTypeRule)
def call_type_rule_delete(request, pk: int):
    rule = get_object_for_member(CallTypeRule.objects.for_org(request.org), pk)
    if request.method != "POST":
        return _post_only()
    services.call_type_rule_delete(rule=rule, actor=request.user)
    messages.success(request, "Rule deleted.")
    return redirect("meetings:types")


# --- managers -------------------------------------------------------------------------------------


def _base_url(request) -> str:
    return request.build_absolute_uri("/")[:-1]


@member_required(roles=MANAGER_ROLES)
@require_GET
def overdue(request):
    return render(
        request,
        "meetings/overdue.html",
        {
            "groups": selectors.pcf_overdue_by_rep(org=request.org),
            "team": TeamMember.objects.for_org(request.org).filter(active=True),
        },
    )


@member_required(roles=MANAGER_ROLES)
@tenant_object(TeamMember)
def overdue_remind(request, pk: int):
    member = get_object_for_member(TeamMember.objects.for_org(request.org), pk)
    if request.method != "POST":
        return _post_only()
    cutoff = services.pcf_overdue_cutoff(org=request.org)
    meetings = list(
        selectors.pcf_owed(org=request.org, member=member).filter(scheduled_at__lte=cutoff)
    )
    sent = services.pcf_remind(
        org=request.org,
        member=member,
        meetings=meetings,
        base_url=_base_url(request),
        actor=request.user,
    )
    if sent:
        messages.success(request, f"Reminder sent to {member.name}.")
    else:
        messages.error(request, f"Nothing sent: {member.name} owes nothing or has no email.")
    return redirect("meetings:overdue")


@member_required(roles=MANAGER_ROLES)
@tenant_object(TeamMember)
def magic_link_send(request, pk: int):
    member = get_object_for_member(TeamMember.objects.for_org(request.org), pk)
    if request.method != "POST":
        return _post_only()
    try:
        services.magic_link_send(
            org=request.org, member=member, base_url=_base_url(request), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sign-in link emailed to {member.email}.")
    return redirect("meetings:overdue")


@member_required(roles=MANAGER_ROLES)
@require_GET
def duplicates(request):
    return render(
        request,
        "meetings/duplicates.html",
        {"pairs": selectors.meeting_suspected_duplicates(org=request.org)},
    )


# --- rep portal -----------------------------------------------------------------------------------


def _portal_context(org, member, membership=None) -> dict:
    owed = list(selectors.pcf_owed(org=org, member=member))
    owed.sort(key=lambda m: (not m.is_overdue, m.scheduled_at))
    today = list(selectors.rep_calls_today(org=org, member=member))
    # A setter's day also lists the solution calls they booked: those forms are the closer's.
    for meeting in owed + today:
        meeting.pcf_is_theirs = selectors.pcf_is_theirs(meeting=meeting, member=member)
    context = {
        "member": member,
        "today": today,
        "upcoming": with_probabilities(
            org=org, rows=selectors.rep_calls_upcoming(org=org, member=member), kind="call"
        ),
        "open_deals": rep_open_deals(org=org, member=member),
        "owed": owed,
        "month": selectors.rep_month_counts(org=org, member=member),
        "kpis": _rep_kpis(org, member, membership),
    }
    if member.is_setter:
        start, end = month_bounds(timezone.localdate(timezone=org.tzinfo))
        context.update(rep_activity(org=org, member=member, start=start, end=end))
    return context


# The few figures a rep sees about their own month (KPIS.md names), from the shared KPI selector.
REP_FIGURES = (
    ("deals_won", "Deals won"),
    ("revenue", "Revenue"),
    ("cash_collected", "Cash"),
    ("solution_show_rate", "Show rate"),
    ("close_rate", "Close rate"),
    ("offer_rate", "Offer rate"),
    ("pcf_completion_rate", "PCFs filed"),
    ("triage_show_rate", "Triage show rate"),
)


def _rep_kpis(org, member, membership) -> list[tuple[str, str]]:
    start, end = month_bounds(org_today(org))
    side = rep_side(member=member, membership=membership)
    summary = kpi_summary(
        org=org,
        start=start,
        end=end,
        closer=member if side == Role.CLOSER else None,
        setter=member if side == Role.SETTER else None,
    )
    return [
        (
            label,
            format_metric(name, metric_value(name, summary["base"], summary["kpis"]), org.currency),
        )
        for name, label in REP_FIGURES
    ]


@member_required()
@require_GET
def rep_portal(request):
    member = rep_team_member(request.membership)
    context = (
        _portal_context(request.org, member, request.membership) if member else {"member": None}
    )
    context["magic_token"] = None
    return render(request, "rep/portal.html", context)


def _magic_member(token: str) -> TeamMember:
    try:
        return services.magic_link_member(token=token)
    except signing.SignatureExpired:
        raise _Gone from None
    except (signing.BadSignature, TeamMember.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


class _Gone(Exception):
    pass


def _gone(request):
    return render(request, "rep/link_expired.html", status=410)


@require_GET
def magic_home(request, token: str):
    try:
        member = _magic_member(token)
    except _Gone:
        return _gone(request)
    context = _portal_context(member.org, member)
    context["magic_token"] = token
    return render(request, "rep/portal.html", context)


@require_http_methods(["GET", "POST"])
@tenant_object(Meeting)
def magic_pcf(request, token: str, pk: int):
    try:
        member = _magic_member(token)
    except _Gone:
        return _gone(request)
    meeting = selectors.get_meeting_for_magic_pcf(member=member, pk=pk)
    return _pcf_page(request, meeting=meeting, author=member, actor=None, action_url=request.path)
