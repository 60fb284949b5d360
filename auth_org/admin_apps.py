"""The Django admin app with the operators' site (auth_org.admin_site) as its
default site, so every app's ``admin.site.register`` lands on it.

Kept apart from the site: an app config module is imported before the models
are ready, the site's forms import models.
"""

from django.contrib.admin.apps import AdminConfig


class OperatorAdminConfig(AdminConfig):
    default_site = "auth_org.admin_site.OperatorAdminSite"
