from django import forms

from apps.api.models import Scope, Workspace


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120)
    permissions = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )


class KeyForm(forms.Form):
    """A workspace's key (admins), or with no workspace a personal read key (anyone)."""

    workspace = forms.ModelChoiceField(
        queryset=Workspace.objects.none(), required=False, empty_label="Personal read key (mine)"
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )
    name = forms.CharField(max_length=120, required=False, help_text="What the key is for.")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Blank: never expires."
    )

    def __init__(self, *args, org, can_admin: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if can_admin:
            self.fields["workspace"].queryset = Workspace.objects.for_org(org)
        else:
            del self.fields["workspace"]
