from __future__ import annotations

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.invoice_list, name="invoice-list"),
    path("invoices/new/", views.invoice_create, name="invoice-create"),
    path("sequences/", views.sequence_state, name="sequence-state"),
]
