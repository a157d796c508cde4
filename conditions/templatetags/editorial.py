"""Admin presentation: the review queue on the admin home."""

from django import template
from django.urls import reverse

from conditions.review_queue import review_queue

register = template.Library()


@register.inclusion_tag("admin/conditions/_review_queue.html", takes_context=True)
def review_queue_panel(context):
    request = context["request"]
    changelist = reverse("admin:conditions_article_changelist")
    return {"queues": review_queue(request.user), "changelist": changelist}
