from django.contrib.admin.apps import AdminConfig


class EditorsAdminConfig(AdminConfig):
    """Django's admin on the site that asks for the second factor, with sessions that time out."""

    default_site = "icdsite.two_factor.EditorsAdminSite"

    def ready(self):
        super().ready()
        # Their receivers note, at each sign-in, the time and whether a second factor is set up.
        from icdsite import session_timeout, two_factor  # noqa: F401
