"""The editors' admin: articles through the publishing services, synonyms, read-only code data."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import redirect
from django.urls import path, re_path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import admin_views, review_queue, services
from .icd10cm import canonical_code
from .images import CleanedImage, clean_illustration, keep_pending, pending_name, take_pending
from .models import Article, ArticleSource, Block, Chapter, Code, ErrorReport, Note, Synonym
from .models.content import validate_web_url

admin.site.site_header = _("icdsite editors")
admin.site.site_title = _("icdsite editors")
admin.site.index_title = _("Articles, synonyms and the official code set")


class ReadOnlyAdmin(admin.ModelAdmin):
    """The official code data comes from the CMS import only: nobody edits it here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Chapter)
class ChapterAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "code_range")
    search_fields = ("number", "title")


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    list_display = ("block_id", "title", "chapter")
    list_select_related = ("chapter",)
    search_fields = ("^block_id", "title")


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ("owner", "kind", "position", "text")
    list_filter = ("kind", "owner_type")
    search_fields = ("^owner",)
    show_full_result_count = False


@admin.register(Code)
class CodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "billable", "article_status", "public_page")
    list_filter = ("billable", "has_article")
    # Served by the UPPER(code) prefix and UPPER(title) trigram indexes on Code.
    search_fields = ("^code", "title")
    search_help_text = _("A code or its beginning (M61, m612), or words of the title.")
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "code",
        "title",
        "chapter",
        "block",
        "parent",
        "billable",
        "placeholder",
        "has_article",
        "public_page",
    )

    def get_queryset(self, request):
        # The live article's state (a working draft of it shares the code).
        statuses = Article.objects.filter(code_id=OuterRef("pk"), revision_of=None).values("status")[:1]
        return super().get_queryset(request).annotate(article_state=Subquery(statuses))

    def get_search_results(self, request, queryset, search_term):
        if search_term.strip() and request.resolver_match.url_name == "autocomplete":
            # The code picker (article code, related codes, synonym code): the public site's search,
            # so "strep throat" finds J02.0 through lay words and inclusion terms, best first.
            return Code.objects.search(search_term), False
        # "m612" means M61.2: search for the official spelling of a code typed without its dot.
        canonical = (
            canonical_code(search_term.strip()) if search_term and " " not in search_term.strip() else None
        )
        return super().get_search_results(request, queryset, canonical or search_term)

    @admin.display(description=_("article"), ordering="article_state")
    def article_status(self, obj):
        return Article.Status(obj.article_state).label if obj.article_state else "—"

    @admin.display(description=_("public page"))
    def public_page(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', obj.get_absolute_url(), _("view")
        )


class FreshEditForm(forms.ModelForm):
    """A form that refuses to save over a row someone changed since this form was opened."""

    loaded_at = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            # Full precision (the form's own rendering would drop the microseconds).
            self.initial["loaded_at"] = self.instance.updated_at.isoformat()

    def clean_loaded_at(self):
        raw = self.data.get(self.add_prefix("loaded_at"))
        return admin_views.parse_loaded_at(raw)

    def clean(self):
        cleaned = super().clean()
        try:
            services.ensure_fresh(instance=self.instance, loaded_at=cleaned.get("loaded_at"))
        except services.StaleEdit as error:
            link = ""
            if isinstance(self.instance, Article):
                link = reverse("admin:conditions_article_compare", args=[self.instance.pk])
            else:
                link = reverse(
                    f"admin:{self.instance._meta.app_label}_{self.instance._meta.model_name}_history",
                    args=[self.instance.pk],
                )
            raise ValidationError(
                format_html('{} <a href="{}">{}</a>', " ".join(error.messages), link, _("Compare")),
                code="stale",
            ) from error
        return cleaned


@admin.register(Synonym)
class SynonymAdmin(SimpleHistoryAdmin):
    form = FreshEditForm
    list_display = ("term", "meaning", "code", "updated_at")
    search_fields = ("term", "meaning", "^code__code")
    autocomplete_fields = ("code",)

    def save_model(self, request, obj, form, change):
        services.synonym_save(synonym=obj, user=request.user, loaded_at=form.cleaned_data.get("loaded_at"))


class ChapterFilter(admin.SimpleListFilter):
    title = _("chapter")
    parameter_name = "chapter"

    def lookups(self, request, model_admin):
        return [(c.number, f"{c.number} {c.code_range}") for c in Chapter.objects.all()]

    def queryset(self, request, queryset):
        return queryset.filter(code__chapter=self.value()) if self.value() else queryset


class ReviewOverdueFilter(admin.SimpleListFilter):
    title = _("medical review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue (over 12 months or never)")), ("current", _("Within 12 months"))]

    def queryset(self, request, queryset):
        year_ago = timezone.localdate() - timedelta(days=365)
        if self.value() == "overdue":
            return queryset.filter(Q(last_reviewed__lt=year_ago) | Q(last_reviewed__isnull=True))
        if self.value() == "current":
            return queryset.filter(last_reviewed__gte=year_ago)
        return queryset


class QueueFilter(admin.SimpleListFilter):
    """The admin home's review queues (conditions.review_queue), as a filter of the article list."""

    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return list(review_queue.QUEUES.items())

    def queryset(self, request, queryset):
        if self.value() in review_queue.QUEUES:
            return queryset.filter(pk__in=review_queue.queue(self.value(), request.user).values("pk"))
        return queryset


class IllustrationFilter(admin.SimpleListFilter):
    title = _("illustration")
    parameter_name = "illustration"

    def lookups(self, request, model_admin):
        return [("none", _("No illustration")), ("yes", _("Has an illustration"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(illustration="")
        if self.value() == "yes":
            return queryset.exclude(illustration="")
        return queryset


class ArticleSourceInline(admin.TabularInline):
    model = ArticleSource
    fields = ("position", "title", "url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https", "validators": [validate_web_url]}}
    ordering = ("position", "id")
    extra = 1


class ArticleForm(FreshEditForm):
    pending_illustration = forms.CharField(widget=forms.HiddenInput, required=False)
    review_note = forms.CharField(
        label=_("Note to the author"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required with “Request changes”: what should change before it can be published."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No maxlength in the browser: a long paste is kept whole and the form says how long it is.
        for name in ("title", "summary"):
            field = self.fields.get(name)
            if field is not None:
                field.widget.attrs.pop("maxlength", None)
                field.widget.attrs["data-max-length"] = field.max_length
        if "illustration" in self.fields and self._pending():
            self.fields["illustration"].help_text = _(
                "The image you chose is kept (the form had errors): no need to choose it again. "
                "Choose another file to replace it."
            )

    def _pending(self):
        token = self.data.get(self.add_prefix("pending_illustration")) if self.is_bound else None
        return pending_name(token) if token else None

    def full_clean(self):
        super().full_clean()
        # The form goes back to the editor with errors: keep a checked new image for the next try.
        image = getattr(self, "cleaned_data", {}).get("illustration")
        if self._errors and isinstance(image, CleanedImage):
            self.data = self.data.copy()
            self.data[self.add_prefix("pending_illustration")] = keep_pending(image)
            # The bound field copied the help text when the form was cleaned: tell it too.
            self["illustration"].help_text = self.fields["illustration"].help_text = _(
                "The image you chose is kept: no need to choose it again."
            )

    def clean_body(self):
        body = self.cleaned_data.get("body", "")
        try:
            services.validate_article_body(body)
        except ValidationError as error:
            raise ValidationError(error.message_dict["body"]) from error
        return body

    def clean_review_note(self):
        note = self.cleaned_data.get("review_note", "")
        if self.data.get("_step") == "request_changes" and not note.strip():
            raise ValidationError(_("Say what should change: the note is required to request changes."))
        return note

    def clean_illustration(self):
        image = self.cleaned_data.get("illustration")
        # A new upload is checked and re-encoded here so that errors show on the form.
        if isinstance(image, UploadedFile):
            return clean_illustration(image)
        pending = self._pending()
        if pending and image is not False:  # False: "Clear" was ticked
            return take_pending(pending)
        return image

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("illustration"):
            for field in ("illustration_alt", "illustration_caption", "illustration_credit"):
                if not cleaned.get(field):
                    self.add_error(field, _("An illustration needs its alt text, caption and credit."))
        return cleaned


@admin.register(Article)
class ArticleAdmin(SimpleHistoryAdmin):
    form = ArticleForm
    list_display = (
        "code_string",
        "title",
        "state",
        "publish_time",
        "medical_reviewer",
        "last_reviewed",
        "illustrated",
        "updated_at",
    )
    list_display_links = ("code_string", "title")
    list_filter = (
        QueueFilter,
        "status",
        ChapterFilter,
        "medical_reviewer",
        ReviewOverdueFilter,
        IllustrationFilter,
    )
    search_fields = ("^code__code", "title")
    search_help_text = _("A code or its beginning, or words of the title.")
    autocomplete_fields = ("code", "related_codes")
    inlines = (ArticleSourceInline,)
    actions = ("submit_selected", "publish_selected", "unpublish_selected", "archive_selected")
    readonly_fields = ("state", "public_page", "updated_at")
    fieldsets = (
        (None, {"fields": ("loaded_at", "code", "title", "summary", "body", "related_codes")}),
        (
            _("Illustration"),
            {
                "fields": (
                    "pending_illustration",
                    "illustration",
                    "illustration_alt",
                    "illustration_caption",
                    "illustration_credit",
                )
            },
        ),
        (_("Review"), {"fields": ("author", "medical_reviewer", "last_reviewed")}),
        (
            _("Publishing"),
            {
                "fields": ("state", "publish_at", "public_page", "updated_at"),
                "description": _("Times are in your time zone."),
            },
        ),
    )
    change_form_template = "admin/conditions/article/change_form.html"
    object_history_form_template = "admin/conditions/article/revision.html"
    # Fields of the form only, with no place on a past revision.
    FORM_ONLY_FIELDS = ("loaded_at", "pending_illustration", "public_page", "updated_at")

    class Media:
        js = ("js/admin-article.js",)

    # --- permissions: editors change drafts only; publishers anything ---------------------
    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj.status == Article.Status.DRAFT or self.has_publish_permission(request)

    def has_submit_permission(self, request):
        return request.user.has_perm("conditions.submit_article")

    def has_publish_permission(self, request):
        return request.user.has_perm("conditions.publish_article")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not getattr(request, "viewing_revision", False):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in self.FORM_ONLY_FIELDS]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if getattr(request, "viewing_revision", False):
            # A past revision is shown, never edited: every field read-only, no file chooser, no "Today".
            return [f for _name, options in self.get_fieldsets(request, obj) for f in options["fields"]]
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.revision_of_id:
            fields = (*fields, "code")  # a working draft stays with its live article
        return fields if self.has_publish_permission(request) else (*fields, "publish_at")

    # --- every write goes through conditions.services --------------------------------------
    def save_model(self, request, obj, form, change):
        services.article_save(
            article=obj,
            user=request.user,
            related_codes=form.cleaned_data.get("related_codes"),
            loaded_at=form.cleaned_data.get("loaded_at"),
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """A past revision, read-only, with a preview of that revision (not of the current article)."""
        if request.method != "GET":
            raise PermissionDenied
        request.viewing_revision = True
        article = self.get_object(request, object_id)
        extra = {
            "revision_preview_url": reverse(
                "admin:conditions_article_revision_preview", args=[object_id, version_id]
            ),
            "compare_url": reverse("admin:conditions_article_compare", args=[object_id])
            + f"?old={int(version_id)}",
            "revert_confirm_url": reverse("admin:conditions_article_revert", args=[object_id, version_id])
            if article is not None and self.has_change_permission(request, article)
            else "",
        }
        return super().history_form_view(request, object_id, version_id, {**(extra_context or {}), **extra})

    def response_change(self, request, obj):
        # A workflow button inside the form: the edits were saved (the form was valid); now the step.
        name = request.POST.get("_step")
        if name in admin_views.STEPS:
            shown = admin_views.run_step(request, obj, name, note=request.POST.get("review_note", ""))
            return redirect("admin:conditions_article_change", shown.pk)
        return super().response_change(request, obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ArticleSource:
            return super().save_formset(request, form, formset, change)
        for source in formset.save(commit=False):
            services.source_save(source=source, user=request.user)
        for source in formset.deleted_objects:
            source.delete()

    def delete_model(self, request, obj):
        services.article_delete(article=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for article in queryset:
            services.article_delete(article=article, user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/preview/",
                view(admin_views.article_preview),
                name="conditions_article_preview",
            ),
            path("preview-body/", view(admin_views.body_preview), name="conditions_article_body_preview"),
            path(
                "<int:object_id>/preview/<int:history_id>/",
                view(admin_views.article_revision_preview),
                name="conditions_article_revision_preview",
            ),
            path(
                "<int:object_id>/compare/",
                view(admin_views.article_compare),
                name="conditions_article_compare",
            ),
            path(
                "<int:object_id>/revert/<int:history_id>/",
                view(admin_views.article_revert),
                name="conditions_article_revert",
            ),
            re_path(
                rf"^(?P<object_id>\d+)/(?P<step>{'|'.join(admin_views.STEPS)})/$",
                view(admin_views.article_step),
                name="conditions_article_step",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_object(request, object_id)
        steps = admin_views.steps_for(request.user, article) if article else []
        extra = {"workflow_steps": steps, "workflow_step_names": [step["name"] for step in steps]}
        if article is not None:
            extra["state_label"] = services.state_label(article)
            extra["working_draft"] = Article.objects.filter(revision_of=article).first()
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    # --- list columns and bulk actions ------------------------------------------------------
    @admin.display(description=_("code"), ordering="code_id")
    def code_string(self, obj):
        return obj.code_id

    @admin.display(description=_("publish time"), ordering="publish_at")
    def publish_time(self, obj):
        return services.local_time(obj.publish_at) or "—"

    @admin.display(description=_("state"), ordering="status")
    def state(self, obj):
        return services.state_label(obj) if obj.pk else "—"

    @admin.display(description=_("illustrated"), boolean=True)
    def illustrated(self, obj):
        return bool(obj.illustration)

    @admin.display(description=_("public page"))
    def public_page(self, obj):
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a> · <a href="{}" target="_blank" rel="noopener">{}</a>',
            obj.get_absolute_url(),
            _("public page"),
            reverse("admin:conditions_article_preview", args=[obj.pk]),
            _("preview this version"),
        )

    def _run_step(self, request, queryset, service):
        done = 0
        for article in queryset:
            try:
                service(article=article, user=request.user)
                done += 1
            except services.WorkflowError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
        if done:
            self.message_user(request, _("%(count)d article(s) updated.") % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Submit selected drafts for review"), permissions=["submit"])
    def submit_selected(self, request, queryset):
        self._run_step(request, queryset, services.article_submit)

    @admin.action(description=_("Publish selected articles"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        self._run_step(request, queryset, services.article_publish)

    @admin.action(description=_("Unpublish selected articles (back to draft)"), permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        self._run_step(request, queryset, services.article_unpublish)

    @admin.action(description=_("Archive selected articles"), permissions=["publish"])
    def archive_selected(self, request, queryset):
        self._run_step(request, queryset, services.article_archive)


@admin.register(ErrorReport)
class ErrorReportAdmin(admin.ModelAdmin):
    """What visitors reported from the contact page: editors read them and tick them off."""

    list_display = ("created_at", "page", "message_start", "handled")
    list_filter = ("handled",)
    list_editable = ("handled",)
    search_fields = ("page", "message")
    readonly_fields = ("page", "message", "email", "created_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("what is wrong"))
    def message_start(self, obj):
        return obj.message[:80]
