"""The operators' view of webhooks: endpoints, deliveries with every attempt
and its answer, and a replay of a delivery (a new one, through the service)."""

from django.contrib import admin, messages

from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ("url", "tenant_id", "enabled", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    search_fields = ("=tenant_id", "url")
    exclude = ("secret", "previous_secret")


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ("started_at", "duration_ms", "status_code", "error", "response_body")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = (
        "id",
        "event_type",
        "object_id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("=object_id", "=tenant_id", "=event__uid")
    list_select_related = ("event", "endpoint")
    ordering = ("-id",)
    inlines = [AttemptInline]
    actions = ["replay"]
    readonly_fields = ("event_type", "payload")
    exclude = ("event",)

    @admin.display(description="event")
    def event_type(self, obj: Delivery) -> str:
        return f"{obj.event.type} {obj.event.uid}"

    @admin.display(description="data")
    def payload(self, obj: Delivery) -> str:
        return obj.event.data

    @admin.action(
        description="Replay the selected deliveries (send their events again)"
    )
    def replay(self, request, queryset):
        count = 0
        for delivery in queryset.order_by("id"):
            services.replay_delivery(delivery)
            count += 1
        self.message_user(
            request, f"{count} delivery(ies) queued again.", messages.SUCCESS
        )
