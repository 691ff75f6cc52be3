from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Customer, Invoice
from .services import save_new_customer

if TYPE_CHECKING:  # ModelAdmin is generic only in django-stubs
    CustomerAdminBase = admin.ModelAdmin[Customer]
    InvoiceAdminBase = admin.ModelAdmin[Invoice]
else:
    CustomerAdminBase = InvoiceAdminBase = admin.ModelAdmin


@admin.register(Customer)
class CustomerAdmin(CustomerAdminBase):
    list_display = ["reference", "name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["number"]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            save_new_customer(obj)


@admin.register(Invoice)
class InvoiceAdmin(InvoiceAdminBase):
    """Read-only: invoices are created through the service, which numbers them."""

    list_display = ["reference", "customer", "issued_on", "amount"]
    list_filter = ["year"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
