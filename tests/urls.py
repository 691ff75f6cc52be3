from django.apps import apps
from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls)]
if apps.is_installed("demo.billing"):  # not in the relabelled run (tests/settings.py)
    urlpatterns.append(path("billing/", include("demo.billing.urls")))
