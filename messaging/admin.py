from django.contrib import admin, messages

from core.admin import StatusHistoryInline
from core.admin_display import short_column
from messaging import services
from messaging.models import Message, MessageStatusChange


class MessageStatusChangeInline(StatusHistoryInline):
    model = MessageStatusChange
    fields = ("from_status", "to_status", "note", "created_at")  # no actor here
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        short_column("id", keep=8),
        "kind",
        "channel",
        "status",
        "sender",
        "masked_recipient",
        "attempts",
        "hold_reason",
        "created_at",
    )
    list_filter = ("status", "kind", "channel", "sender")
    # Exact matches on status, kind and channel, plus ids.
    search_fields = (
        "=status",
        "=kind",
        "=channel",
        "=sender",
        "=provider_message_id",
    )
    ordering = ("-created_at",)
    inlines = [MessageStatusChangeInline]
    actions = ["retry_failed"]
    exclude = ("body", "recipient", "template_variables")
    readonly_fields = [
        field.name
        for field in Message._meta.fields
        if field.name not in {"body", "recipient", "template_variables"}
    ] + ["masked_recipient"]

    @admin.display(description="recipient")
    def masked_recipient(self, obj: Message) -> str:
        return services.mask(obj.recipient)

    @admin.action(description="Retry the selected failed messages")
    def retry_failed(self, request, queryset):
        moved = services.retry_failed_messages(
            queryset.filter(status=Message.Status.FAILURE).values_list("pk", flat=True),
            note=f"retried from the admin by {request.user}",
        )
        self.message_user(
            request, f"{moved} message(s) queued again.", messages.SUCCESS
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
