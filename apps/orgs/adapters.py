from allauth.account.adapter import DefaultAccountAdapter
from django import forms

from apps.orgs import services
from apps.orgs.models import Invitation

SESSION_INVITATION_KEY = "invitation_token"


def pending_invitation(request) -> Invitation | None:
    token = request.session.get(SESSION_INVITATION_KEY)
    if not token:
        return None
    invitation = Invitation.objects.filter(token=token).select_related("org").first()
    return invitation if invitation and invitation.is_usable else None


class InvitationOnlyAdapter(DefaultAccountAdapter):
    """Nobody signs up on their own: only with a valid invitation, for the invited address."""

    def is_open_for_signup(self, request):
        return pending_invitation(request) is not None

    def clean_email(self, email):
        email = super().clean_email(email)
        invitation = pending_invitation(self.request) if self.request else None
        if invitation is not None and invitation.email.lower() != email.lower():
            raise forms.ValidationError("Sign up with the address the invitation was sent to.")
        return email

    def pre_authenticate(self, request, **credentials):
        # allauth refuses a rate-limited sign-in here, with no signal of its own: audit it.
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError:
            from apps.orgs.signals import user_for_login

            user = user_for_login(credentials)
            if user is not None:
                services.audit_lockout(user=user)
            raise

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        invitation = pending_invitation(request)
        if invitation is not None and commit:
            services.invitation_accept(invitation=invitation, user=user)
            request.session.pop(SESSION_INVITATION_KEY, None)
        return user
